"""Who may read GET /metrics: clients inside ``METRICS_ALLOW`` (after ProxyFix), and nobody
through another method; everyone else meets the same 404 as on an unknown path."""

from __future__ import annotations

import pytest

from config import ConfigError, get_config
from tests.conftest import assert_error
from tests.test_metrics import OUTSIDER, env, scrape_text


def test_a_client_outside_metrics_allow_gets_the_unknown_path_404(app):
    client = app.test_client()
    hidden = client.get("/metrics", environ_base={"REMOTE_ADDR": OUTSIDER})
    unknown = client.get("/no-such-path", environ_base={"REMOTE_ADDR": OUTSIDER})
    assert_error(hidden, 404, {"body": ["not found"]})
    assert hidden.get_data() == unknown.get_data()
    assert set(hidden.headers.keys()) == set(unknown.headers.keys())


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_a_refused_client_gets_404_whatever_the_method(app, method):
    response = app.test_client().open(
        "/metrics", method=method, environ_base={"REMOTE_ADDR": OUTSIDER}
    )
    assert response.status_code == 404


def test_an_allowed_client_may_only_read(app):
    response = app.test_client().post("/metrics")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


def test_ipv6_loopback_is_allowed_by_default(app):
    scrape_text(app, environ_base={"REMOTE_ADDR": "::1"})


def test_metrics_allow_names_the_networks_that_may_read(make_app):
    app = make_app(METRICS_ALLOW="10.1.0.0/16, 203.0.113.9")
    assert app.test_client().get("/metrics", **env("10.1.200.7")).status_code == 200
    assert app.test_client().get("/metrics", **env(OUTSIDER)).status_code == 200
    assert app.test_client().get("/metrics", **env("127.0.0.1")).status_code == 404


def test_behind_a_proxy_the_forwarded_client_address_decides(make_app):
    app = make_app(TRUSTED_PROXY_HOPS="1")
    client = app.test_client()
    outsider = client.get("/metrics", headers={"X-Forwarded-For": OUTSIDER})
    local = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert outsider.status_code == 404
    assert local.status_code == 200


@pytest.mark.parametrize("allow", ["10.0.0.0/33", "not-an-address", "10.0.0.1/8"])
def test_a_malformed_metrics_allow_is_a_config_error(allow):
    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        get_config("testing", environ={"METRICS_ALLOW": allow})


def test_metrics_are_not_in_the_openapi_document(client):
    assert "/metrics" not in client.get("/api/openapi.json").get_json()["paths"]


# Rate limits ------------------------------------------------------------------------------------


def test_scrapes_from_allowed_clients_are_never_rate_limited(limited_app):
    app = limited_app(RATELIMIT_READ="1/minute")
    responses = [app.test_client().get("/metrics") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[-1].headers


def test_a_refused_client_is_not_rate_limited_as_on_an_unknown_path(limited_app):
    # Flask-Limiter counts no request that matched no route: neither may this one be.
    app = limited_app(RATELIMIT_READ="1/minute")
    client = app.test_client()
    unknown = [client.get("/no-such-path", **env(OUTSIDER)) for _ in range(2)]
    hidden = [client.get("/metrics", **env(OUTSIDER)) for _ in range(2)]
    assert [r.status_code for r in unknown + hidden] == [404] * 4
    assert set(hidden[-1].headers.keys()) == set(unknown[-1].headers.keys())
