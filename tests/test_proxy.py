"""Behind a proxy: the client address and scheme come from the last ``TRUSTED_PROXY_HOPS``
proxies (ProxyFix), never from what the client itself wrote into X-Forwarded-*; the request
log line, the rate-limit key and HSTS all see the result."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

from app.security.ratelimit import rate_limit_key
from config import ConfigError, get_config
from tests.conftest import auth_header, register
from tests.security_apps import building_apps

PEER = "/api/__test__/peer"
NGINX = "10.0.0.2"  # the address the app sees the proxy connect from
SPOOFED_AND_REAL = "6.6.6.6, 203.0.113.9"  # the client wrote 6.6.6.6; nginx appended its peer
HSTS = "Strict-Transport-Security"
ROOT = Path(__file__).resolve().parent.parent


def _peer() -> dict[str, Any]:
    return {
        "remote_addr": request.remote_addr,
        "rate_limit_key": rate_limit_key(),
        "secure": request.is_secure,
        "host": request.host,
    }


@pytest.fixture
def build(make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Flask]:
    builder = building_apps(make_app, monkeypatch)

    def with_peer_route(config_name: str = "production", **env: str) -> Flask:
        app = builder(config_name, **env)
        app.add_url_rule(PEER, endpoint="proxy-test-peer", view_func=_peer)
        return app

    return with_peer_route


def call(app: Flask, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """GET the peer route as if nginx (``NGINX``) forwarded it."""
    kwargs.setdefault("environ_overrides", {"REMOTE_ADDR": NGINX})
    return app.test_client().get(PEER, headers=headers or {}, **kwargs)


def logged_remote_addr(caplog: pytest.LogCaptureFixture, path: str = PEER) -> list[str]:
    return [r.remote_addr for r in caplog.records if r.name == "app.request" and r.path == path]


# --- the client address --------------------------------------------------------------------------


def test_one_hop_takes_the_client_that_nginx_appended(build, caplog):
    caplog.set_level(logging.INFO, logger="app.request")
    response = call(build("production"), {"X-Forwarded-For": SPOOFED_AND_REAL})
    body = response.get_json()
    assert body["remote_addr"] == "203.0.113.9"
    assert body["rate_limit_key"] == "ip:203.0.113.9"
    assert logged_remote_addr(caplog) == ["203.0.113.9"]


def test_one_hop_ignores_any_number_of_forged_entries(build):
    forged = "1.1.1.1, 2.2.2.2, 127.0.0.1, 203.0.113.9"
    body = call(build("production"), {"X-Forwarded-For": forged}).get_json()
    assert body["remote_addr"] == "203.0.113.9"


def test_two_hops_take_the_client_seen_by_the_outer_proxy(build):
    # load balancer -> nginx -> app: the LB appended the client, nginx appended the LB.
    app = build("production", TRUSTED_PROXY_HOPS="2")
    body = call(app, {"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.0.0.1"}).get_json()
    assert body["remote_addr"] == "198.51.100.7"
    assert body["rate_limit_key"] == "ip:198.51.100.7"


def test_fewer_entries_than_hops_keep_the_peer_address(build):
    # Not enough entries means a proxy did not add one: believe none of them.
    app = build("production", TRUSTED_PROXY_HOPS="2")
    assert call(app, {"X-Forwarded-For": "6.6.6.6"}).get_json()["remote_addr"] == NGINX


def test_without_forwarded_for_the_peer_is_the_client(build):
    assert call(build("production")).get_json()["remote_addr"] == NGINX


@pytest.mark.parametrize(
    ("config_name", "env"),
    [("development", {}), ("testing", {}), ("production", {"TRUSTED_PROXY_HOPS": "0"})],
    ids=["development", "testing", "production-0-hops"],
)
def test_zero_hops_ignore_forwarded_headers_entirely(build, caplog, config_name, env):
    caplog.set_level(logging.INFO, logger="app.request")
    headers = {
        "X-Forwarded-For": SPOOFED_AND_REAL,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
    }
    response = call(build(config_name, **env), headers, base_url="http://api.example.com")
    assert response.get_json() == {
        "remote_addr": NGINX,
        "rate_limit_key": f"ip:{NGINX}",
        "secure": False,
        "host": "api.example.com",
    }
    assert logged_remote_addr(caplog) == [NGINX]
    assert HSTS not in response.headers


# --- the scheme ----------------------------------------------------------------------------------


def test_forwarded_proto_https_from_the_proxy_is_a_secure_request_with_hsts(build):
    headers = {"X-Forwarded-For": SPOOFED_AND_REAL, "X-Forwarded-Proto": "https"}
    response = call(build("production"), headers, base_url="http://api.example.com")
    assert response.get_json()["secure"] is True
    assert response.headers[HSTS] == "max-age=31536000; includeSubDomains"


def test_forwarded_proto_http_from_the_proxy_is_plain_http_without_hsts(build):
    response = call(build("production"), {"X-Forwarded-Proto": "http"}, base_url="https://x.test")
    assert response.get_json()["secure"] is False  # the proxy's word beats the inner hop's
    assert HSTS not in response.headers


def test_forwarded_host_is_never_believed(build):
    # nginx sets Host itself; nothing here builds absolute URLs from X-Forwarded-Host.
    headers = {"X-Forwarded-Host": "evil.example", "X-Forwarded-For": SPOOFED_AND_REAL}
    response = call(build("production"), headers, base_url="http://api.example.com")
    assert response.get_json()["host"] == "api.example.com"


# --- the other WSGI layer still works ------------------------------------------------------------


def test_bearer_tokens_and_request_ids_work_behind_the_proxy(build, caplog):
    caplog.set_level(logging.INFO, logger="app.request")
    app = build("production")
    client = app.test_client()
    proxied = {"environ_overrides": {"REMOTE_ADDR": NGINX}}
    forwarded = {"X-Forwarded-For": SPOOFED_AND_REAL, "X-Forwarded-Proto": "https"}
    token = register(client)["token"]
    response = client.get(
        "/api/user",
        headers={**auth_header(token, "Bearer"), **forwarded, "X-Request-ID": "behind-nginx-1"},
        **proxied,
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "behind-nginx-1"
    assert response.headers[HSTS]
    assert logged_remote_addr(caplog, "/api/user") == ["203.0.113.9"]
    key = client.get(PEER, headers={**auth_header(token, "Bearer"), **forwarded}, **proxied)
    assert re.fullmatch(r"user:\S+", key.get_json()["rate_limit_key"])


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config_name", "expected"), [("production", 1), ("development", 0), ("testing", 0)]
)
def test_default_hops_per_configuration(config_name, expected):
    environ = {"SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40, "DATABASE_URL": "sqlite://"}
    config = get_config(config_name, environ=environ)
    assert expected == config.TRUSTED_PROXY_HOPS


def test_hops_are_read_from_the_environment():
    assert get_config("development", environ={"TRUSTED_PROXY_HOPS": "2"}).TRUSTED_PROXY_HOPS == 2


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_hops_must_be_a_non_negative_integer(value):
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS"):
        get_config("development", environ={"TRUSTED_PROXY_HOPS": value})


def test_config_check_shows_the_trusted_hops(build):
    # Operators compare it with the number of proxies actually in front of the app.
    app = build("production", TRUSTED_PROXY_HOPS="2")
    with app.app_context():  # the flask command pushes one; app.cli alone does not
        result = app.test_cli_runner().invoke(args=["config-check"])
    assert result.exit_code == 0, result.output
    assert "trusted proxy hops: 2" in result.output.splitlines()


def test_nginx_sends_the_headers_one_hop_relies_on():
    # Every server block that proxies to the app appends the peer to X-Forwarded-For and
    # overwrites X-Forwarded-Proto with the scheme it served (a client's value never survives).
    conf = (ROOT / "ops" / "nginx.conf").read_text()
    servers = [block for block in conf.split("\nserver {")[1:] if "proxy_pass" in block]
    assert len(servers) == 2
    for block in servers:
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in block
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in block
