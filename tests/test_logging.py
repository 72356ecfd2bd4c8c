"""Logs: JSON lines (or one readable text line) with the request id on every record, one access
record per request, health probes kept quiet, and no password, token or hash ever written."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request
from sqlalchemy import select
from sqlalchemy.exc import ProgrammingError

from app.extensions import db
from app.logs import REDACTED, build_formatter, redact
from app.models import User
from tests.conftest import auth_header, register

LOGIN = "/api/users/login"
# Passwords with spaces: every word must stay out of the logs, not just the whole phrase.
PASSWORD = "plumsky vortexquill 4417zeta"
WRONG_PASSWORD = "nottheplum gravelwing 9931kappa"
# A structurally valid JWT (header {"alg":"HS256","typ":"JWT"}) for the redaction unit tests.
SAMPLE_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiZXhwIjo0MTAyNDQ0ODAwfQ."
    "c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1oZXJl"
)


@pytest.fixture
def build(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """``build(LOG_FORMAT=..., LOG_LEVEL=...)``: an app with a route that fails on purpose."""

    def make(**env: str) -> Flask:
        app = make_app(**env)

        def boom() -> Any:
            raise RuntimeError("logging test failure")

        def bad_statement() -> Any:
            # What a failing statement raises: SQLAlchemy's wrapper around the driver's error.
            raise ProgrammingError(
                "SELECT secret_column FROM users WHERE email = %(email)s",
                {"email": "x@example.com"},
                Exception('column "secret_column" does not exist\nLINE 1: SELECT secret_column'),
                hide_parameters=True,
            )

        app.add_url_rule("/api/__test__/boom", endpoint="boom", view_func=boom)
        app.add_url_rule("/api/__test__/sql", endpoint="sql", view_func=bad_statement)
        return app

    return make


def records(err: str) -> list[dict[str, Any]]:
    """Every non-empty stderr line parsed as JSON (fails the test if one is not JSON)."""
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def request_records(err: str) -> list[dict[str, Any]]:
    return [r for r in records(err) if r["logger"] == "app.request"]


REQUESTS = {
    "ok": ("GET", "/ping", {}, 200),
    "invalid": ("POST", "/api/users", {"json": {"user": {}}}, 422),
    "not-found": ("GET", "/api/no-such-route", {}, 404),
    "method": ("DELETE", LOGIN, {}, 405),
    "malformed": ("POST", LOGIN, {"data": "{", "content_type": "application/json"}, 400),
    "unauthorized": ("GET", "/api/user", {"headers": {"Authorization": "Token nope"}}, 401),
    "credentials": ("POST", LOGIN, {"json": {"user": {"email": "x@y.z", "password": "p"}}}, 401),
    "error": ("GET", "/api/__test__/boom", {}, 500),
}


@pytest.mark.parametrize("case", list(REQUESTS))
def test_every_json_log_line_carries_the_responses_request_id(build, capfd, case):
    method, path, kwargs, status = REQUESTS[case]
    client = build(LOG_FORMAT="json", LOG_LEVEL="DEBUG").test_client()
    capfd.readouterr()
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == status
    lines = records(capfd.readouterr().err)
    assert lines
    assert {line["request_id"] for line in lines} == {response.headers["X-Request-ID"]}


def test_error_record_holds_traceback_and_request_id_in_one_json_line(build, capfd):
    client = build(LOG_FORMAT="json").test_client()
    capfd.readouterr()
    response = client.get("/api/__test__/boom", headers={"X-Request-ID": "json-trace-1"})
    assert response.status_code == 500
    (error,) = [r for r in records(capfd.readouterr().err) if r["level"] == "ERROR"]
    assert error["logger"] == "app.errors"
    assert error["request_id"] == "json-trace-1"
    assert "Traceback (most recent call last)" in error["exc_info"]
    assert "RuntimeError: logging test failure" in error["exc_info"]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_failed_statement_is_logged_with_its_error_but_without_its_sql(build, capfd, log_format):
    client = build(LOG_FORMAT=log_format).test_client()
    capfd.readouterr()

    assert client.get("/api/__test__/sql").status_code == 500

    err = capfd.readouterr().err
    assert "ProgrammingError" in err
    assert "does not exist" in err
    assert "[SQL: hidden]" in err
    assert "secret_column FROM" not in err
    assert "SELECT secret_column" not in err


def test_redact_hides_sqlalchemys_statement_block_and_the_servers_excerpt():
    text = (
        '(psycopg.errors.UndefinedTable) relation "x" does not exist\n'
        "LINE 1: INSERT INTO sessions (id) VALUES ...\n"
        "                    ^\n"
        "[SQL: INSERT INTO sessions (id, tags)\nVALUES (%(id)s, ARRAY[1]\n)]\n"
        "[SQL parameters hidden due to hide_parameters=True]\n"
        "(Background on this error at: https://sqlalche.me/e/21/f405)"
    )

    assert redact(text) == (
        '(psycopg.errors.UndefinedTable) relation "x" does not exist\n'
        "LINE 1: [SQL hidden]\n"
        "                    ^\n"
        "[SQL: hidden]\n"
        "[SQL parameters hidden due to hide_parameters=True]\n"
        "(Background on this error at: https://sqlalche.me/e/21/f405)"
    )


@pytest.mark.parametrize("case", [c for c in REQUESTS if c != "ok"])
def test_one_request_record_per_request_at_info(build, capfd, case):
    method, path, kwargs, status = REQUESTS[case]
    client = build(LOG_FORMAT="json", LOG_LEVEL="DEBUG").test_client()
    capfd.readouterr()
    response = client.open(path, method=method, **kwargs)
    (record,) = request_records(capfd.readouterr().err)
    assert record["level"] == "INFO"
    assert record["request_id"] == response.headers["X-Request-ID"]
    assert record["method"] == method
    assert record["path"] == path
    assert record["status"] == status
    assert isinstance(record["duration_ms"], int | float)
    assert record["duration_ms"] >= 0
    assert record["remote_addr"] == "127.0.0.1"
    assert record["user_id"] is None
    assert record["response_size"] == len(response.get_data())


def test_request_record_names_the_authenticated_user(build, capfd):
    app = build(LOG_FORMAT="json")
    client = app.test_client()
    token = register(client)["token"]
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "alice"))
    capfd.readouterr()
    assert client.get("/api/user", headers=auth_header(token, "Bearer")).status_code == 200
    (record,) = request_records(capfd.readouterr().err)
    assert record["user_id"] == user_id
    assert record["status"] == 200


def test_request_record_leaves_out_the_query_string(build, capfd):
    client = build(LOG_FORMAT="json").test_client()
    capfd.readouterr()
    client.get(f"/api/no-such-route?token={SAMPLE_JWT}&password=hunter22")
    err = capfd.readouterr().err
    (record,) = request_records(err)
    assert record["path"] == "/api/no-such-route"
    assert SAMPLE_JWT not in err
    assert "hunter22" not in err


@pytest.mark.parametrize("path", ["/ping", "/health"])
def test_health_probes_are_logged_at_debug(build, capfd, path):
    client = build(LOG_FORMAT="json", LOG_LEVEL="DEBUG").test_client()
    capfd.readouterr()
    assert client.get(path).status_code == 200
    (record,) = request_records(capfd.readouterr().err)
    assert record["level"] == "DEBUG"
    assert record["path"] == path


def test_health_probes_are_silent_at_info_while_api_requests_are_not(build, capfd):
    client = build(LOG_FORMAT="json", LOG_LEVEL="INFO").test_client()
    capfd.readouterr()
    client.get("/ping")
    client.get("/health")
    assert request_records(capfd.readouterr().err) == []
    client.get("/api/no-such-route")
    assert len(request_records(capfd.readouterr().err)) == 1


def test_text_format_is_one_readable_line_with_the_request_id(build, capfd):
    client = build(LOG_FORMAT="text", LOG_LEVEL="DEBUG").test_client()
    capfd.readouterr()
    client.get("/api/no-such-route", headers={"X-Request-ID": "text-line-1"})
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1
    (line,) = lines
    assert not line.startswith("{")
    assert " INFO " in line
    assert "app.request [text-line-1] GET /api/no-such-route 404 " in line
    assert line.endswith("ms")


# --- no secrets ---------------------------------------------------------------------------------


def _leaky_route(app: Flask) -> None:
    """A route whose failure message quotes the request body, headers and stored hash, as
    careless code does."""

    def leak() -> Any:
        user = db.session.scalar(select(User).where(User.username == "alice"))
        raise RuntimeError(
            f"cannot handle {request.get_json()!r} with {dict(request.headers)!r}; "
            f"Authorization: {request.headers['Authorization']}; hash={user.password_hash}"
        )

    app.add_url_rule("/api/__test__/leak", endpoint="leak", view_func=leak, methods=["POST"])


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_no_password_token_or_hash_reaches_the_logs(build, capfd, log_format):
    app = build(LOG_FORMAT=log_format, LOG_LEVEL="DEBUG")
    _leaky_route(app)
    client = app.test_client()
    capfd.readouterr()

    tokens = [register(client, password=PASSWORD)["token"]]
    login = {"user": {"email": "alice@example.com", "password": PASSWORD}}
    response = client.post(LOGIN, json=login)
    assert response.status_code == 200
    tokens.append(response.get_json()["user"]["token"])
    assert client.get("/api/user", headers=auth_header(tokens[-1])).status_code == 200
    wrong = {"user": {"email": "alice@example.com", "password": WRONG_PASSWORD}}
    assert client.post(LOGIN, json=wrong).status_code == 401
    response = client.post("/api/__test__/leak", json=login, headers=auth_header(tokens[-1]))
    assert response.status_code == 500
    with app.app_context():
        stored_hash = db.session.scalar(select(User.password_hash).where(User.id.isnot(None)))

    out, err = capfd.readouterr()
    logged = out + err
    assert "unhandled exception: RuntimeError" in logged  # the failure was logged...
    assert REDACTED in logged  # ...with its secrets blanked out
    secrets = [*PASSWORD.split(), *WRONG_PASSWORD.split(), stored_hash, "$argon2"]
    for token in tokens:
        secrets += [token, f"Token {token}", token.rsplit(".", 1)[1]]
    for secret in secrets:
        assert secret not in logged
    if log_format == "json":
        records(err)  # and every line is still JSON


# --- redact() -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Token {SAMPLE_JWT}", f"Authorization: {REDACTED}"),
        (f"authorization=Bearer {SAMPLE_JWT}", f"authorization={REDACTED}"),
        ("{'Authorization': 'Basic dXNlcjpwYXNz'}", f"{{'Authorization': '{REDACTED}'}}"),
        (
            '{"email": "a@b.c", "password": "correct horse battery"}',
            f'{{"email": "a@b.c", "password": "{REDACTED}"}}',
        ),
        (
            "{'password': 'correct horse battery', 'username': 'alice'}",
            f"{{'password': '{REDACTED}', 'username': 'alice'}}",
        ),
        ('{"password": "say \\"hi\\" there"}', f'{{"password": "{REDACTED}"}}'),
        ("password=hunter22&next=/home", f"password={REDACTED}&next=/home"),
        (f'{{"token": "{SAMPLE_JWT}"}}', f'{{"token": "{REDACTED}"}}'),
        (f"got {SAMPLE_JWT} from the client", f"got {REDACTED} from the client"),
        (
            "hash $argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo stored",
            f"hash {REDACTED} stored",
        ),
        ("postgresql://u:pw@h/db", f"postgresql://u:{REDACTED}@h/db"),
        (
            "postgresql+psycopg://conduit:s3cr3t@db.internal:5432/conduit",
            f"postgresql+psycopg://conduit:{REDACTED}@db.internal:5432/conduit",
        ),
        ("redis://:pw0rd@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
    ],
    ids=[
        "authorization-token",
        "authorization-bearer",
        "authorization-in-dict-repr",
        "json-password-with-spaces",
        "repr-password-with-spaces",
        "json-password-with-escaped-quotes",
        "query-string-password",
        "json-token",
        "bare-jwt",
        "argon2-hash",
        "url-credentials",
        "driver-url-credentials",
        "redis-url-password",
    ],
)
def test_redact_blanks_out_the_secret(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/articles?limit=20 200 3.1ms",
        "user alice@example.com logged in",
        "postgresql://db.internal:5432/conduit",
        "password is too short",
    ],
    ids=["access-line", "email", "url-without-credentials", "password-word"],
)
def test_redact_leaves_ordinary_text_alone(text):
    assert redact(text) == text


def test_json_formatter_blanks_out_sensitive_extra_fields():
    record = logging.LogRecord("app.test", logging.INFO, __file__, 1, "signing in", None, None)
    record.request_id = "r-1"
    record.password = PASSWORD
    record.token = SAMPLE_JWT
    record.detail = {"Authorization": f"Token {SAMPLE_JWT}", "nested": {"password": "x y"}}
    line = build_formatter("json").format(record)
    data = json.loads(line)
    assert data["password"] == REDACTED
    assert data["token"] == REDACTED
    assert data["detail"] == {"Authorization": REDACTED, "nested": {"password": REDACTED}}
    assert PASSWORD not in line
    assert SAMPLE_JWT not in line
