"""Error reports to Sentry: off without SENTRY_DSN; with it, exactly one event per 500 (none for
4xx, 429 or the database-unavailable 503), tagged with the request id and the user's id, with
no password, token, cookie or secret query parameter in anything sent, and an unreachable
Sentry never delaying or breaking a request.

The SDK sends its real envelopes over HTTP to a receiver on loopback (tests/sentry_receiver.py);
nothing in the SDK is patched. Every test leaves the SDK off (no client) for the next one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sentry_sdk
from flask import Flask, request
from flask_jwt_extended import verify_jwt_in_request
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.observability.sentry import SHUTDOWN_TIMEOUT, scrub
from app.redaction import REDACTED
from config import ConfigError, get_config
from tests.conftest import auth_header, register
from tests.sentry_receiver import Blackhole, SentryReceiver, closed_port

BOOM = "/api/__test__/boom"
BOOM_AS_USER = "/api/__test__/boom-as-user"
INTERNAL_ERROR = {"errors": {"body": ["internal server error"]}}
PASSWORD = "plumsky vortexquill 4417zeta"
COOKIE_SECRET = "cookie-secret-5f1e0c"
QUERY_SECRET = "query-secret-77abd2"
# A caller asking for its trace to be continued and sampled (trace id, span id, sampled=1).
SAMPLED_TRACE = "771a43a4192642f0b136d5159a501700-b7ad6b7169203331-1"

log = logging.getLogger("tests.sentry")


def switch_sdk_off() -> None:
    """The client flushed and closed, then no client at all: as if ``sentry_sdk.init`` had
    never run (an init without a DSN would still leave an active client)."""
    sentry_sdk.get_client().close(timeout=SHUTDOWN_TIMEOUT)
    sentry_sdk.get_global_scope().set_client(None)


@pytest.fixture(autouse=True)
def sdk_off_afterwards() -> Iterator[None]:
    """Each test starts with the SDK off and leaves it off, so other tests are unaffected."""
    assert not sentry_sdk.is_initialized(), "an earlier test left the Sentry SDK on"
    yield
    switch_sdk_off()


@pytest.fixture
def receiver() -> Iterator[SentryReceiver]:
    sentry = SentryReceiver()
    yield sentry
    switch_sdk_off()  # first, so that nothing is sent to a receiver that has gone
    sentry.close()


def leaky_failure() -> Any:
    """Fails the way careless code does: the body, the Authorization header and the password in
    local variables, a log line (a breadcrumb), the event's extra and context, and the message."""
    body = request.get_json(silent=True)
    authorization = request.headers.get("Authorization")
    password = (body or {}).get("user", {}).get("password")
    log.warning("handling %r with %s", body, authorization)
    sentry_sdk.set_extra("body", body)
    sentry_sdk.set_context("credentials", {"password": password, "header": authorization})
    raise RuntimeError(f"cannot handle {body!r}; Authorization: {authorization}")


def failure_as_user() -> Any:
    verify_jwt_in_request()  # loads the token's user, as @blp.requires_token() does
    raise RuntimeError("failed for a signed-in user")


def add_failing_routes(app: Flask) -> Flask:
    app.add_url_rule(BOOM, endpoint="boom", view_func=leaky_failure, methods=["GET", "POST"])
    app.add_url_rule(BOOM_AS_USER, endpoint="boom_as_user", view_func=failure_as_user)
    return app


@pytest.fixture
def reporting_app(make_app: Callable[..., Flask], receiver: SentryReceiver) -> Callable[..., Flask]:
    """``reporting_app(**env)``: a testing app reporting to the receiver, with failing routes."""

    def build(**env: str) -> Flask:
        return add_failing_routes(make_app(SENTRY_DSN=receiver.dsn, **env))

    return build


def events_after_flush(receiver: SentryReceiver) -> list[dict[str, Any]]:
    sentry_sdk.flush(timeout=5)
    return receiver.events()


# --- configuration ------------------------------------------------------------------------------


def test_sentry_is_off_and_untraced_by_default():
    config = get_config("testing", environ={})
    assert config.SENTRY_DSN == ""
    assert config.SENTRY_TRACES_SAMPLE_RATE == 0.0
    assert config.SENTRY_PROFILES_SAMPLE_RATE == 0.0


@pytest.mark.parametrize("name", ["SENTRY_TRACES_SAMPLE_RATE", "SENTRY_PROFILES_SAMPLE_RATE"])
@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "often"])
def test_a_sample_rate_outside_0_to_1_is_refused_naming_the_setting(name, value):
    with pytest.raises(ConfigError, match=f"{name} must be a number from 0 to 1"):
        get_config("testing", environ={name: value})


@pytest.mark.parametrize(
    "dsn", ["not a dsn", "https://sentry.example.com/1", "http://key@sentry.example.com/project"]
)
def test_a_dsn_the_sdk_cannot_parse_is_refused_at_start(dsn):
    with pytest.raises(ConfigError, match="SENTRY_DSN is not a Sentry DSN"):
        get_config("testing", environ={"SENTRY_DSN": dsn})


def test_without_a_dsn_the_sdk_is_never_initialised(make_app):
    app = add_failing_routes(make_app(SENTRY_DSN=""))
    assert app.test_client().get(BOOM).get_json() == INTERNAL_ERROR
    assert not sentry_sdk.is_initialized()


def test_apps_with_the_same_settings_share_the_process_client(reporting_app):
    reporting_app()
    first = sentry_sdk.get_client()
    reporting_app()
    assert sentry_sdk.get_client() is first


def test_an_app_with_other_settings_replaces_the_process_client(reporting_app, make_app):
    reporting_app()
    other = SentryReceiver()
    try:
        make_app(SENTRY_DSN=other.dsn)
        assert sentry_sdk.get_client().dsn == other.dsn
    finally:
        switch_sdk_off()
        other.close()


def test_an_app_without_a_dsn_leaves_the_process_client_alone(reporting_app, make_app):
    reporting_app()
    client = sentry_sdk.get_client()
    make_app(SENTRY_DSN="")
    assert sentry_sdk.get_client() is client


# --- what becomes an event ----------------------------------------------------------------------


def test_a_500_sends_exactly_one_event_tagged_with_the_responses_request_id(
    reporting_app, receiver
):
    response = reporting_app().test_client().get(BOOM)
    assert response.status_code == 500

    (event,) = events_after_flush(receiver)
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert receiver.paths[0] == "/api/1/envelope/"


def test_the_event_names_the_environment_and_the_release(reporting_app, receiver):
    reporting_app(APP_VERSION="9.8.7-test").test_client().get(BOOM)
    (event,) = events_after_flush(receiver)
    assert event["environment"] == "testing"
    assert event["release"] == "9.8.7-test"


def test_the_event_names_the_signed_in_user_by_id_only(reporting_app, receiver):
    app = reporting_app()
    client = app.test_client()
    token = register(client, "alice")["token"]
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "alice"))

    response = client.get(BOOM_AS_USER, headers=auth_header(token))
    assert response.status_code == 500

    (event,) = events_after_flush(receiver)
    assert event["user"] == {"id": str(user_id)}
    assert b"alice@example.com" not in receiver.raw_bytes()


def test_no_sql_statement_is_sent_without_tracing(reporting_app, receiver):
    """SQL stays out of the reports as it stays out of the logs: the user lookup's statement
    (users JOIN auth_sessions) ran in this request, and is not among its breadcrumbs."""
    client = reporting_app().test_client()
    token = register(client, "alice")["token"]
    assert client.get(BOOM_AS_USER, headers=auth_header(token)).status_code == 500

    (event,) = events_after_flush(receiver)
    assert event["user"]  # the lookup did run
    assert b"auth_sessions" not in receiver.raw_bytes()


def test_an_anonymous_request_names_no_user(reporting_app, receiver):
    reporting_app().test_client().get(BOOM)
    (event,) = events_after_flush(receiver)
    assert "user" not in event


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/api/no-such-route", {}, 404),
        ("DELETE", "/api/users/login", {}, 405),
        ("POST", "/api/users/login", {"data": "{", "content_type": "application/json"}, 400),
        ("POST", "/api/users", {"json": {"user": {}}}, 422),
        ("GET", "/api/user", {"headers": {"Authorization": "Token nope"}}, 401),
    ],
    ids=["404", "405", "400", "422", "401"],
)
def test_a_client_error_sends_no_event(reporting_app, receiver, method, path, kwargs, status):
    client = reporting_app().test_client()
    assert client.open(path, method=method, **kwargs).status_code == status
    failed = client.get(BOOM)  # proves the reports are flowing: only this one arrives

    (event,) = events_after_flush(receiver)
    assert event["tags"]["request_id"] == failed.headers["X-Request-ID"]


def test_a_rate_limited_request_sends_no_event(reporting_app, receiver):
    client = reporting_app(
        RATELIMIT_ENABLED="true", REDIS_URL="", RATELIMIT_READ="1/minute"
    ).test_client()
    assert client.get("/api/tags").status_code == 200
    assert client.get("/api/tags").status_code == 429
    failed = client.post(BOOM)  # a write: its own budget

    (event,) = events_after_flush(receiver)
    assert event["tags"]["request_id"] == failed.headers["X-Request-ID"]


def test_the_database_unavailable_503_sends_no_event(reporting_app, receiver):
    client = reporting_app(TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nope").test_client()
    login = {"user": {"email": "nobody@example.com", "password": "not-the-password"}}
    assert client.post("/api/users/login", json=login).status_code == 503
    failed = client.get(BOOM)

    (event,) = events_after_flush(receiver)
    assert event["tags"]["request_id"] == failed.headers["X-Request-ID"]


def test_an_error_flask_reports_itself_is_sent_once(reporting_app, receiver):
    """An after_request hook that raises reaches Flask's own handler (FlaskIntegration reports
    it), then our 500 handler (which reports it too): the SDK keeps one."""
    app = reporting_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production, not as in testing
    raised: list[bool] = []

    @app.after_request
    def fail_once(response: Any) -> Any:
        if request.path == "/ping" and not raised:
            raised.append(True)
            raise LookupError("an after_request hook failed")
        return response

    response = app.test_client().get("/ping")
    assert response.status_code == 500

    (event,) = events_after_flush(receiver)
    assert event["exception"]["values"][-1]["type"] == "LookupError"
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]


# --- no secrets ---------------------------------------------------------------------------------


def test_no_password_token_cookie_or_query_secret_is_sent(reporting_app, receiver):
    app = reporting_app()
    client = app.test_client()
    token = register(client, "alice", password=PASSWORD)["token"]
    client.set_cookie("session", COOKIE_SECRET)

    response = client.post(
        f"{BOOM}?token={QUERY_SECRET}",
        json={"user": {"email": "alice@example.com", "password": PASSWORD}},
        headers=auth_header(token),
    )
    assert response.status_code == 500

    (event,) = events_after_flush(receiver)
    sent = receiver.raw_bytes()
    secrets = [*PASSWORD.split(), token, token.rsplit(".", 1)[1], COOKIE_SECRET, QUERY_SECRET]
    for secret in secrets:
        assert secret.encode() not in sent, secret
    # What was scrubbed was there to scrub: the body, the breadcrumb, the frames' variables.
    assert event["request"]["data"]["user"]["password"] == REDACTED
    messages = [crumb.get("message") or "" for crumb in event["breadcrumbs"]["values"]]
    assert any(m.startswith("handling") and REDACTED in m for m in messages)
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["vars"]["password"] == REDACTED


@pytest.mark.parametrize(
    "key", ["Cookie", "Set-Cookie", "refreshToken", "refresh_token", "X-Api-Key", "JWT_SECRET_KEY"]
)
def test_scrub_blanks_a_value_under_a_sensitive_key_at_any_depth(key):
    event = {
        "request": {"headers": {key: "s3cr3t-value"}},
        "breadcrumbs": {"values": [{"data": {"nested": [{key: "s3cr3t-value"}]}}]},
        "extra": {"outer": {"inner": {key: "s3cr3t-value"}}},
    }
    scrubbed = scrub(event)
    assert "s3cr3t-value" not in repr(scrubbed)
    assert scrubbed["request"]["headers"][key] == REDACTED


def test_scrub_redacts_secrets_inside_strings_and_keeps_the_rest():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    event = {"message": f"got {jwt} for alice@example.com", "level": "error", "count": 3}
    assert scrub(event) == {
        "message": f"got {REDACTED} for alice@example.com",
        "level": "error",
        "count": 3,
    }


def test_scrub_leaves_the_sdks_own_notes_alone():
    event = {"_meta": {"request": {"headers": {"Cookie": {"": {"rem": [["!config", "s"]]}}}}}}
    assert scrub(event) == event


def test_a_sampled_transaction_carries_no_secret(reporting_app, receiver):
    client = reporting_app(SENTRY_TRACES_SAMPLE_RATE="1").test_client()
    token = register(client, "alice", password=PASSWORD)["token"]
    client.get(f"/api/tags?token={QUERY_SECRET}", headers=auth_header(token)).close()

    sentry_sdk.flush(timeout=5)
    assert receiver.items("transaction")
    sent = receiver.raw_bytes()
    for secret in [*PASSWORD.split(), token, QUERY_SECRET]:
        assert secret.encode() not in sent, secret


def test_no_transaction_is_sent_by_default_even_when_a_caller_asks(reporting_app, receiver):
    client = reporting_app().test_client()
    client.get("/api/tags", headers={"sentry-trace": SAMPLED_TRACE}).close()
    client.get(BOOM)

    assert len(events_after_flush(receiver)) == 1  # the reports are flowing...
    assert receiver.items("transaction") == []  # ...but no trace was continued


# --- an unreachable Sentry ----------------------------------------------------------------------


@pytest.mark.parametrize("sentry", ["closed-port", "blackhole"])
def test_an_unreachable_sentry_neither_delays_nor_breaks_a_request(make_app, sentry):
    blackhole = Blackhole() if sentry == "blackhole" else None
    dsn = blackhole.dsn if blackhole else f"http://public@127.0.0.1:{closed_port()}/1"
    try:
        client = add_failing_routes(make_app(SENTRY_DSN=dsn)).test_client()
        assert sentry_sdk.is_initialized()
        for _ in range(5):
            started = time.perf_counter()
            response = client.get(BOOM)
            elapsed = time.perf_counter() - started
            assert response.get_json() == INTERNAL_ERROR
            assert response.status_code == 500
            assert elapsed < 0.5
        assert client.get("/ping").status_code == 200
    finally:
        if blackhole:
            blackhole.close()  # resets the connection the SDK's sender hangs on
        # Every queued send now fails at once (refused): wait for them while this test's output
        # is still captured, so that no urllib3 retry warning lands in a later test's.
        sentry_sdk.flush(timeout=SHUTDOWN_TIMEOUT)
        switch_sdk_off()
