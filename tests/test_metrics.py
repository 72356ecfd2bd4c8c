"""GET /metrics as Prometheus reads it: the contract's series (tests/test_metrics_gunicorn.py adds
the workers of a real gunicorn, tests/test_metrics_backups.py the backup gauges).

Metric values live in the process, shared by every app a test builds, so each test compares a
scrape taken before what it does with one taken after.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask_jwt_extended import create_access_token
from prometheus_client.parser import text_string_to_metric_families

from app.extensions import db
from tests.conftest import assert_error, auth_header, wait_until
from tests.redis_process import RedisServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
OUTSIDER = "203.0.113.9"
REQUESTS = "conduit_http_requests_total"
DURATION = "conduit_http_request_duration_seconds"
IN_FLIGHT = "conduit_http_requests_in_flight"
AUTH_FAILURES = "conduit_auth_failures_total"
REFUSALS = "conduit_rate_limit_refusals_total"
FALLBACK = "conduit_rate_limit_fallback"
CONTRACT_TYPES = {
    "conduit_http_requests": "counter",
    "conduit_http_request_duration_seconds": "histogram",
    "conduit_http_requests_in_flight": "gauge",
    "conduit_rate_limit_refusals": "counter",
    "conduit_rate_limit_fallback": "gauge",
    "conduit_db_pool_checked_out": "gauge",
    "conduit_db_pool_overflow": "gauge",
    "conduit_db_pool_capacity": "gauge",
    "conduit_auth_failures": "counter",
    "conduit_backup_last_success_timestamp_seconds": "gauge",
    "conduit_backup_last_verified_timestamp_seconds": "gauge",
}
BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0"]


def scrape_text(app: Flask, **kwargs: Any) -> str:
    response = app.test_client().get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return response.get_data(as_text=True)


def scrape(app: Flask) -> Samples:
    """Every sample of one scrape, parsed by prometheus_client's own parser."""
    samples: Samples = {}
    for family in text_string_to_metric_families(scrape_text(app)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def increase(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


# The output ------------------------------------------------------------------------------------


def test_every_series_of_the_contract_is_exported_with_its_type(app):
    families = {f.name: f.type for f in text_string_to_metric_families(scrape_text(app))}
    assert {name: families.get(name) for name in CONTRACT_TYPES} == CONTRACT_TYPES


def test_durations_use_the_contract_buckets(app, client):
    client.get("/api/tags")
    after = scrape(app)
    # One series: earlier tests in this process may have left /api/tags series of other
    # methods (a CORS preflight's OPTIONS), each with buckets of its own.
    series = {"route": "/api/tags", "method": "GET"}
    buckets = sorted(
        (float(dict(labels)["le"]), dict(labels)["le"])
        for name, labels in after
        if name == f"{DURATION}_bucket" and series.items() <= dict(labels).items()
    )
    assert [le for _, le in buckets] == [*BUCKETS, "+Inf"]


# Requests --------------------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_not_by_path(app, client):
    before = scrape(app)
    client.get("/api/articles/first-slug")
    client.get("/api/articles/second-slug")
    after = scrape(app)
    series = {"method": "GET", "route": "/api/articles/<slug>", "status": "404"}
    assert increase(before, after, REQUESTS, **series) == 2
    assert not [labels for _, labels in after if ("route", "/api/articles/first-slug") in labels]


def test_each_counted_request_has_its_duration_observed(app, client):
    before = scrape(app)
    for _ in range(3):
        client.get("/api/tags")
    after = scrape(app)
    route = {"method": "GET", "route": "/api/tags"}
    assert increase(before, after, f"{DURATION}_count", **route) == 3
    assert increase(before, after, f"{DURATION}_sum", **route) > 0


def test_durations_land_in_their_buckets(make_app):
    app = make_app()

    @app.get("/test/sleeps")
    def sleeps() -> str:
        time.sleep(0.03)  # between the 0.025 and 0.05 bounds, whatever the pipeline adds
        return "slept"

    before = scrape(app)
    for _ in range(2):
        app.test_client().get("/test/sleeps")
    after = scrape(app)
    route = {"method": "GET", "route": "/test/sleeps"}
    assert increase(before, after, f"{DURATION}_bucket", **route, le="0.025") == 0
    assert increase(before, after, f"{DURATION}_bucket", **route, le="0.05") == 2
    assert increase(before, after, f"{DURATION}_sum", **route) >= 0.06


def test_a_path_no_rule_matches_is_counted_as_unmatched(app, client):
    before = scrape(app)
    assert client.get("/no/such/path").status_code == 404
    after = scrape(app)
    assert increase(before, after, REQUESTS, method="GET", route="unmatched", status="404") == 1


def test_a_method_the_route_does_not_allow_keeps_the_route(app, client):
    before = scrape(app)
    assert client.delete("/api/tags").status_code == 405
    after = scrape(app)
    assert increase(before, after, REQUESTS, method="DELETE", route="/api/tags", status="405") == 1


def test_validation_errors_are_counted_with_their_status(app, client):
    before = scrape(app)
    assert client.post("/api/users", json={"user": {}}).status_code == 422
    after = scrape(app)
    assert increase(before, after, REQUESTS, method="POST", route="/api/users", status="422") == 1


def test_an_unknown_method_is_counted_as_other(app, client):
    before = scrape(app)
    client.open("/api/tags", method="BREW")
    after = scrape(app)
    assert increase(before, after, REQUESTS, method="other", route="/api/tags", status="405") == 1


def test_requests_in_flight_are_counted_while_they_run(make_app):
    app = make_app()
    entered, release = threading.Event(), threading.Event()

    @app.get("/test/slow")
    def slow() -> str:
        entered.set()
        release.wait(10)
        return "done"

    worker = threading.Thread(target=lambda: app.test_client().get("/test/slow"))
    worker.start()
    try:
        assert entered.wait(10)
        during = value(scrape(app), IN_FLIGHT)
    finally:
        release.set()
        worker.join(10)
    assert during == 2  # the slow request and the scrape itself
    assert value(scrape(app), IN_FLIGHT) == 1


def test_a_request_that_raises_leaves_nothing_in_flight(make_app):
    app = make_app()

    @app.get("/test/raises")
    def raises() -> str:
        raise RuntimeError("boom")  # handled: app/errors.py answers 500

    @app.get("/test/escapes")
    def escapes() -> None:
        return None  # not a response: Flask raises after the view, past every after hook

    outcomes: list[Any] = []

    def serve() -> None:  # in a thread of its own, as a worker thread would
        outcomes.append(app.test_client().get("/test/raises").status_code)
        try:
            app.test_client().get("/test/escapes")
        except TypeError as error:  # TESTING lets it out of the WSGI call
            outcomes.append(type(error))

    worker = threading.Thread(target=serve)
    worker.start()
    worker.join(10)
    assert outcomes == [500, TypeError]
    assert value(scrape(app), IN_FLIGHT) == 1  # the scrape itself


def test_with_metrics_disabled_nothing_is_counted_and_the_path_is_unknown(app, make_app):
    quiet = make_app(METRICS_ENABLED="false")
    before = scrape(app)
    quiet.test_client().get("/api/articles/quiet-slug")
    assert_error(quiet.test_client().get("/metrics"), 404, {"body": ["not found"]})
    after = scrape(app)
    assert increase(before, after, REQUESTS, method="GET", route="unmatched", status="404") == 0
    series = {"method": "GET", "route": "/api/articles/<slug>", "status": "404"}
    assert increase(before, after, REQUESTS, **series) == 0


# Authentication failures -----------------------------------------------------------------------


def token_for(app: Flask, user_id: int, session_id: str, expires: timedelta | None = None) -> str:
    with app.app_context():
        return create_access_token(
            identity=str(user_id), additional_claims={"sid": session_id}, expires_delta=expires
        )


def test_a_wrong_password_is_counted_as_invalid_credentials(app, client, user):
    before = scrape(app)
    body = {"user": {"email": user["email"], "password": "not the password"}}
    assert client.post("/api/users/login", json=body).status_code == 401
    assert increase(before, scrape(app), AUTH_FAILURES, reason="invalid_credentials") == 1


def test_a_request_without_a_token_is_counted_as_missing_token(app, client):
    before = scrape(app)
    assert client.get("/api/user").status_code == 401
    assert increase(before, scrape(app), AUTH_FAILURES, reason="missing_token") == 1


def test_a_malformed_token_is_counted_as_invalid_token(app, client):
    before = scrape(app)
    assert client.get("/api/user", headers=auth_header("not.a.jwt")).status_code == 401
    assert increase(before, scrape(app), AUTH_FAILURES, reason="invalid_token") == 1


def test_a_token_naming_no_session_of_its_user_is_counted_as_invalid_token(app, client, user):
    with app.app_context():
        user_id = db.session.execute(db.text("SELECT id FROM users")).scalar_one()
    token = token_for(app, user_id, "no-such-session")
    before = scrape(app)
    assert client.get("/api/user", headers=auth_header(token)).status_code == 401
    after = scrape(app)
    assert increase(before, after, AUTH_FAILURES, reason="invalid_token") == 1
    assert increase(before, after, AUTH_FAILURES, reason="revoked_session") == 0


def test_an_expired_token_is_counted_as_expired_token(app, client):
    token = token_for(app, 1, "any-session", expires=timedelta(seconds=-5))
    before = scrape(app)
    assert client.get("/api/user", headers=auth_header(token)).status_code == 401
    assert increase(before, scrape(app), AUTH_FAILURES, reason="expired_token") == 1


def test_a_token_of_a_logged_out_session_is_counted_as_revoked_session(app, client, user):
    assert client.post("/api/auth/logout", headers=auth_header(user["token"])).status_code == 204
    before = scrape(app)
    assert client.get("/api/user", headers=auth_header(user["token"])).status_code == 401
    after = scrape(app)
    assert increase(before, after, AUTH_FAILURES, reason="revoked_session") == 1
    assert increase(before, after, AUTH_FAILURES, reason="invalid_token") == 0


# Rate limits -----------------------------------------------------------------------------------

LOGIN = {"user": {"email": "someone@example.com", "password": "wrong password"}}
# limit class -> (its setting at 1/minute, the request it limits)
REFUSED: dict[str, tuple[dict[str, str], Callable[[Any, str], Any]]] = {
    "read": ({"RATELIMIT_READ": "1/minute"}, lambda c, ip: c.get("/api/tags", **env(ip))),
    "write": ({"RATELIMIT_WRITE": "1/minute"}, lambda c, ip: c.post("/api/articles", **env(ip))),
    "login": (
        {"RATELIMIT_LOGIN": "1/minute"},
        lambda c, ip: c.post("/api/users/login", json=LOGIN, **env(ip)),
    ),
    "login_email": (
        {"RATELIMIT_LOGIN_EMAIL": "1/minute"},
        lambda c, ip: c.post("/api/users/login", json=LOGIN, **env(ip)),
    ),
    "register": (
        {"RATELIMIT_REGISTER": "1/minute"},
        lambda c, ip: c.post("/api/users", json={"user": {}}, **env(ip)),
    ),
    "auth": ({"RATELIMIT_AUTH": "1/minute"}, lambda c, ip: c.post("/api/auth/logout", **env(ip))),
    "default": ({"RATELIMIT_DEFAULT": "1/minute"}, lambda c, ip: c.get("/api/tags", **env(ip))),
}


def env(ip: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": ip}}


@pytest.mark.parametrize("limit_class", sorted(REFUSED))
def test_a_refusal_is_counted_under_its_limit_class(limited_app, limit_class):
    settings, send = REFUSED[limit_class]
    app = limited_app(**settings)
    client = app.test_client()
    before = scrape(app)
    # login_email counts per email, so its second attempt comes from another address.
    second_ip = "203.0.113.20" if limit_class == "login_email" else "203.0.113.10"
    assert send(client, "203.0.113.10").status_code != 429
    assert send(client, second_ip).status_code == 429
    after = scrape(app)
    assert increase(before, after, REFUSALS, limit_class=limit_class) == 1
    refusals = sum(increase(before, after, REFUSALS, limit_class=name) for name in REFUSED)
    assert refusals == 1


def test_a_refused_request_is_counted_with_status_429(limited_app):
    app = limited_app(RATELIMIT_READ="1/minute")
    before = scrape(app)
    statuses = [app.test_client().get("/api/tags", **env(OUTSIDER)).status_code for _ in range(2)]
    assert statuses == [200, 429]
    after = scrape(app)
    assert increase(before, after, REQUESTS, method="GET", route="/api/tags", status="429") == 1


def limited_on(make_app: Callable[..., Flask], redis_server: RedisServer) -> Flask:
    """An app counting its limits in ``redis_server`` (reads: 1,000 a minute)."""
    return make_app(
        RATELIMIT_ENABLED="true",
        REDIS_URL=redis_server.url,
        RATELIMIT_READ="1000/minute",
        REDIS_SOCKET_TIMEOUT="0.5",
    )


def test_the_fallback_gauge_is_1_while_limits_are_counted_in_memory(make_app, redis_server):
    app = limited_on(make_app, redis_server)
    client = app.test_client()
    assert client.get("/api/tags").status_code == 200

    redis_server.kill()
    assert client.get("/api/tags").status_code == 200  # counted in this process's memory
    assert value(scrape(app), FALLBACK) == 1

    redis_server.start()  # probed 1 s after the failure, then 2 s, 4 s ... later
    deadline = time.monotonic() + 15
    while value(scrape(app), FALLBACK) != 0:
        assert time.monotonic() < deadline, "the fallback gauge stayed at 1 for 15 s"
        assert client.get("/api/tags").status_code == 200
        time.sleep(0.1)


def test_the_fallback_gauge_returns_to_0_in_a_process_that_serves_no_limited_request(
    make_app, redis_server
):
    # A worker whose connections all went elsewhere still gets its gauge back (the fault drill
    # saw 1 for an outage long over); only /metrics, which is not limited, is asked here.
    app = limited_on(make_app, redis_server)
    client = app.test_client()
    redis_server.kill()
    assert client.get("/api/tags").status_code == 200
    assert value(scrape(app), FALLBACK) == 1

    redis_server.start()
    wait_until(  # probes 1, 3, 7 s after the failure
        lambda: value(scrape(app), FALLBACK) == 0,
        "the gauge of an idle process stayed at 1 for 10 s",
        timeout=10,
        interval=0.2,
    )


# Database pool ---------------------------------------------------------------------------------


def test_pool_gauges_follow_connections_checked_out_and_overflowing(make_app):
    app = make_app()
    with app.app_context():
        pool = db.engine.pool
        held = [db.engine.connect() for _ in range(pool.size() + 1)]  # one above the pool size
        try:
            during = scrape(app)
        finally:
            for connection in held:
                connection.close()
        overflow_limit = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("max_overflow", 10)
        capacity = pool.size() + overflow_limit
    after = scrape(app)
    assert value(during, "conduit_db_pool_checked_out") == len(held)
    assert value(during, "conduit_db_pool_overflow") == 1
    assert value(after, "conduit_db_pool_checked_out") == 0
    assert value(after, "conduit_db_pool_overflow") == 0
    assert value(after, "conduit_db_pool_capacity") == capacity


def test_a_request_returns_its_connection_before_the_next_scrape(app, client, user):
    assert client.get("/api/user", headers=auth_header(user["token"])).status_code == 200
    assert value(scrape(app), "conduit_db_pool_checked_out") == 0
