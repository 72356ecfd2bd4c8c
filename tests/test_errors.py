"""Error responses: every failure is a JSON ``{"errors": {...}}`` body with the contract's status,
never an HTML page, a traceback or a hint of the database behind it."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.extensions import db
from app.models import User
from tests.conftest import register

LOGIN = "/api/users/login"
VALID_LOGIN = {"user": {"email": "nobody@example.com", "password": "not-the-password"}}
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
INTERNAL_ERROR = {"errors": {"body": ["internal server error"]}}
UNAVAILABLE = {"errors": {"body": ["service temporarily unavailable"]}}


def add_route(app: Flask, rule: str, view: Callable[[], Any], methods: tuple = ("GET",)) -> None:
    app.add_url_rule(rule, endpoint=rule, view_func=view, methods=list(methods))


def _raise(error: BaseException) -> Callable[[], Any]:
    def view() -> Any:
        raise error

    return view


@pytest.fixture
def faulty_app(make_app: Callable[..., Flask]) -> Flask:
    """A testing app with throwaway routes that fail the ways production code can fail."""
    app = make_app(LOG_FORMAT="text", LOG_LEVEL="DEBUG")
    add_route(app, "/api/__test__/boom", _raise(RuntimeError("secret-detail SELECT * FROM users")))
    add_route(
        app,
        "/api/__test__/db-down",
        _raise(OperationalError("SELECT 1", {}, Exception("no route to db.internal.example"))),
    )
    return app


def json_post(client: Any, path: str, data: str | bytes, **kwargs: Any) -> Any:
    return client.post(path, data=data, content_type="application/json", **kwargs)


def assert_error(response: Any, status: int, body: dict[str, Any]) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.get_json() == body


# --- routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/no-such-route", "/", "/favicon.ico", "/api/users/x/y"])
def test_unknown_route_is_404_not_found(client, path):
    assert_error(client.get(path), 404, {"errors": {"body": ["not found"]}})


def test_wrong_method_is_405_with_allow_header(client):
    response = client.delete(LOGIN)
    assert_error(response, 405, {"errors": {"body": ["method not allowed"]}})
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert "POST" in allowed
    assert "DELETE" not in allowed


# --- request bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        '{"user": {',
        "{'user': {}}",
        '{"user": {"email": "a@b.c",}}',
        "nul",
        b'{"user": {"email": "\xff\xfe"}}',
    ],
    ids=["truncated", "single-quotes", "trailing-comma", "bad-literal", "invalid-utf8"],
)
def test_malformed_json_is_400(client, data):
    assert_error(json_post(client, LOGIN, data), 400, {"errors": {"body": ["malformed JSON"]}})


@pytest.mark.parametrize(
    "data",
    ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000],
    ids=["arrays", "objects"],
)
def test_json_nested_100000_deep_is_400_not_500(client, data):
    response = json_post(client, LOGIN, data)
    assert_error(response, 400, {"errors": {"body": ["JSON is nested too deeply"]}})


def test_integer_too_long_to_convert_is_400_not_500(client):
    # Python refuses int literals over 4300 digits with a ValueError that is no JSONDecodeError.
    data = '{"user": {"email": ' + "9" * 5000 + ', "password": "x"}}'
    assert_error(json_post(client, LOGIN, data), 400, {"errors": {"body": ["malformed JSON"]}})


@pytest.mark.parametrize(
    "data",
    ["[]", '"text"', "42", "true", "null", '[{"user": {}}]'],
    ids=["array", "string", "number", "boolean", "null", "wrapped-in-array"],
)
def test_wrong_json_type_is_422_body(client, data):
    response = json_post(client, LOGIN, data)
    assert_error(response, 422, {"errors": {"body": ["must be a JSON object"]}})


def _padded_login(size: int) -> bytes:
    """A valid login body padded with whitespace to exactly ``size`` bytes."""
    body = json.dumps(VALID_LOGIN).encode()
    assert len(body) <= size
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_body_larger_than_max_content_length_is_413(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = json_post(client, LOGIN, _padded_login(limit + 1))
    assert_error(
        response, 413, {"errors": {"body": [f"request body too large (limit is {limit} bytes)"]}}
    )


def test_configured_small_body_limit_gives_413(make_app):
    client = make_app(MAX_CONTENT_LENGTH="100").test_client()
    response = json_post(client, LOGIN, _padded_login(101))
    assert_error(
        response, 413, {"errors": {"body": ["request body too large (limit is 100 bytes)"]}}
    )


def test_body_exactly_at_the_limit_is_accepted(make_app):
    client = make_app(MAX_CONTENT_LENGTH="100").test_client()
    response = json_post(client, LOGIN, _padded_login(100))
    assert_error(response, 401, {"errors": {"credentials": ["invalid"]}})


def _chunked_post(client: Any, body: bytes) -> Any:
    """A streamed body without Content-Length, as gunicorn passes a chunked request on.

    The stream goes in as ``wsgi.input``: given as ``input_stream``, the test client would
    measure it and send a Content-Length after all."""
    return client.post(
        LOGIN,
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )


def test_streamed_body_over_the_limit_is_413_not_truncated(make_app):
    client = make_app(MAX_CONTENT_LENGTH="100").test_client()
    response = _chunked_post(client, _padded_login(101))
    assert_error(
        response, 413, {"errors": {"body": ["request body too large (limit is 100 bytes)"]}}
    )


def test_streamed_body_within_the_limit_is_read_whole(make_app):
    client = make_app(MAX_CONTENT_LENGTH="100").test_client()
    response = _chunked_post(client, _padded_login(100))
    assert_error(response, 401, {"errors": {"credentials": ["invalid"]}})


# --- unexpected failures ------------------------------------------------------------------------


def test_unexpected_exception_is_500_revealing_nothing(faulty_app):
    response = faulty_app.test_client().get("/api/__test__/boom")
    assert_error(response, 500, INTERNAL_ERROR)
    exposed = response.get_data(as_text=True) + str(response.headers)
    for leak in ("secret-detail", "SELECT", "users", "RuntimeError", "Traceback", 'File "'):
        assert leak not in exposed


def test_unexpected_exception_is_logged_with_traceback_and_request_id(faulty_app, capsys):
    capsys.readouterr()
    response = faulty_app.test_client().get(
        "/api/__test__/boom", headers={"X-Request-ID": "boom-trace-1"}
    )
    assert response.status_code == 500
    err = capsys.readouterr().err
    assert "[boom-trace-1] unhandled exception: RuntimeError" in err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: secret-detail SELECT * FROM users" in err


def test_unexpected_exception_rolls_back_the_session(make_app, client):
    app = make_app()
    seen_after_error: list[Any] = []

    def write_then_fail() -> Any:
        db.session.add(User(username="ghost", email="ghost@example.com", password_hash="x"))
        db.session.flush()
        raise RuntimeError("failed after a write")

    add_route(app, "/api/__test__/write-then-fail", write_then_fail, methods=("POST",))

    @app.after_request
    def look_for_the_row(response: Any) -> Any:  # any later code sharing the request's session
        if request.path == "/api/__test__/write-then-fail":
            seen_after_error.append(
                db.session.scalar(select(User.id).where(User.username == "ghost"))
            )
        return response

    assert_error(app.test_client().post("/api/__test__/write-then-fail"), 500, INTERNAL_ERROR)
    assert seen_after_error == [None]
    with app.app_context():
        count = db.session.scalar(select(func.count(User.id)).where(User.username == "ghost"))
        db.engine.dispose()
    assert count == 0
    assert register(client, username="ghost")["username"] == "ghost"


def test_non_connection_database_error_is_500(make_app):
    app = make_app()
    error = IntegrityError(
        "INSERT INTO users", {}, Exception('duplicate key violates "uq_users_email_lower"')
    )
    add_route(app, "/api/__test__/integrity", _raise(error))
    response = app.test_client().get("/api/__test__/integrity")
    assert_error(response, 500, INTERNAL_ERROR)
    assert "uq_users" not in response.get_data(as_text=True)


# --- database unavailable -----------------------------------------------------------------------


def test_unreachable_database_gives_fast_json_503(make_app):
    app = make_app(
        TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nope",  # closed port
        DB_UNAVAILABLE_RETRY_AFTER="7",
    )
    started = time.monotonic()
    response = app.test_client().post(LOGIN, json=VALID_LOGIN)
    elapsed = time.monotonic() - started
    assert_error(response, 503, UNAVAILABLE)
    assert response.headers["Retry-After"] == "7"
    assert elapsed < 2.0
    exposed = response.get_data(as_text=True) + str(response.headers)
    for leak in ("127.0.0.1", "nope", "postgres", "psycopg", "OperationalError", "refused"):
        assert leak not in exposed


@pytest.mark.parametrize("path", ["/api/tags", "/api/articles"])
def test_unreachable_database_503_keeps_its_retry_after_with_rate_limits_on(limited_app, path):
    # The limiter's own after hook also writes Retry-After (its window's reset); the 503's
    # value is the one a client must wait.
    app = limited_app(TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nope")
    response = app.test_client().get(path)
    assert_error(response, 503, UNAVAILABLE)
    assert response.headers["Retry-After"] == str(app.config["DB_UNAVAILABLE_RETRY_AFTER"])


def test_operational_error_from_a_route_is_503(faulty_app):
    response = faulty_app.test_client().get("/api/__test__/db-down")
    assert_error(response, 503, UNAVAILABLE)
    assert response.headers["Retry-After"] == str(faulty_app.config["DB_UNAVAILABLE_RETRY_AFTER"])
    assert "db.internal" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "error",
    [
        PoolTimeoutError("QueuePool limit of size 10 overflow 5 reached"),
        DBAPIError("SELECT 1", {}, Exception("server closed"), connection_invalidated=True),
    ],
    ids=["pool-exhausted", "connection-invalidated"],
)
def test_database_saturated_or_dropped_is_503(make_app, error):
    app = make_app()
    add_route(app, "/api/__test__/db-error", _raise(error))
    response = app.test_client().get("/api/__test__/db-error")
    assert_error(response, 503, UNAVAILABLE)
    assert int(response.headers["Retry-After"]) > 0


# --- every error --------------------------------------------------------------------------------

ERROR_REQUESTS = {
    "404": ("GET", "/api/no-such-route", {}),
    "405": ("DELETE", LOGIN, {}),
    "400": ("POST", LOGIN, {"data": "{", "content_type": "application/json"}),
    "413": ("POST", LOGIN, {"data": b" " * (1024 * 1024 + 1), "content_type": "text/plain"}),
    "422": ("POST", LOGIN, {"json": []}),
    "401-missing-token": ("GET", "/api/user", {}),
    "401-credentials": ("POST", LOGIN, {"json": VALID_LOGIN}),
    "500": ("GET", "/api/__test__/boom", {}),
    "503": ("GET", "/api/__test__/db-down", {}),
}


@pytest.mark.parametrize("case", list(ERROR_REQUESTS))
def test_every_error_response_is_json_with_a_request_id(faulty_app, case):
    method, path, kwargs = ERROR_REQUESTS[case]
    response = faulty_app.test_client().open(path, method=method, **kwargs)
    assert response.status_code == int(case[:3])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"errors"}
    assert body["errors"]
    assert all(isinstance(v, list) and v for v in body["errors"].values())
    assert SANE_ID.fullmatch(response.headers.get("X-Request-ID", ""))
