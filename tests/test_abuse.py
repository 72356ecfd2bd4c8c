"""Abusive input: oversized bodies are refused before they are read, JSON bombs and absurd
numbers are client errors (never a 500), paging parameters are bounded, and a login for an
unknown email costs exactly what a wrong password costs.

Already covered elsewhere, not repeated here: 413 for bodies over the limit and at the limit
(test_errors.py), top-level 100000-deep JSON and 5000-digit integers (test_errors.py), negative,
fractional, non-numeric and 20-digit limit/offset (test_article_lists.py, test_feed.py), and
byte-identical 401 bodies for unknown email and wrong password (test_auth_login.py).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.conftest import assert_error, auth_header, register
from tests.security_apps import building_apps

LOGIN = "/api/users/login"
LIMIT = 4096
TOO_LARGE = {"body": [f"request body too large (limit is {LIMIT} bytes)"]}
# The API's body-reading endpoints: (method, path, needs a token).
BODY_ENDPOINTS = [
    ("POST", "/api/users", False),
    ("POST", LOGIN, False),
    ("PUT", "/api/user", True),
    ("POST", "/api/articles", True),
]
# Testing: no rate limiting. Production: the limiter's login-by-email key reads the body too.
CONFIGS = {
    "testing": ("testing", {}),
    "production-rate-limited": ("production", {"RATELIMIT_ENABLED": "true"}),
}


@pytest.fixture
def build(make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Flask]:
    return building_apps(make_app, monkeypatch)


@pytest.fixture(params=list(CONFIGS))
def limited_app(request: pytest.FixtureRequest, build: Callable[..., Flask]) -> Flask:
    config_name, env = CONFIGS[request.param]
    return build(config_name, MAX_CONTENT_LENGTH=str(LIMIT), **env)


class EndlessBody(io.RawIOBase):
    """``size`` bytes of request body made on demand, counting how many the app pulls."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.size - self.consumed)
        buffer[:count] = b" " * count
        self.consumed += count
        return count


def send(app: Flask, method: str, path: str, authed: bool, **kwargs: Any) -> Any:
    client = app.test_client()
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    if authed:
        headers.update(auth_header(register(client)["token"]))
    return client.open(path, method=method, headers=headers, **kwargs)


def send_stream(
    app: Flask, method: str, path: str, authed: bool, body: EndlessBody, **kw: Any
) -> Any:
    """Send ``body`` as the raw WSGI input: the test client's ``input_stream`` would seek to
    measure it and set a Content-Length; here only an explicit CONTENT_LENGTH override does."""
    overrides = {"wsgi.input": body, **kw.pop("environ_overrides", {})}
    return send(app, method, path, authed, environ_overrides=overrides, **kw)


# --- bodies over MAX_CONTENT_LENGTH ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "authed"), BODY_ENDPOINTS)
def test_declared_oversized_body_is_refused_without_reading_a_byte(
    limited_app, method, path, authed
):
    body = EndlessBody(64 * 1024 * 1024)
    response = send_stream(
        limited_app,
        method,
        path,
        authed,
        body,
        environ_overrides={"CONTENT_LENGTH": str(body.size)},
    )
    assert_error(response, 413, TOO_LARGE)
    assert body.consumed == 0


@pytest.mark.parametrize(("method", "path", "authed"), BODY_ENDPOINTS)
def test_streamed_oversized_body_is_refused_after_at_most_the_limit(
    limited_app, method, path, authed
):
    # Chunked: no Content-Length to check first, so the app reads up to the limit and one byte
    # more to tell "exactly the limit" from "too large"; the other 64 MiB are never read.
    body = EndlessBody(64 * 1024 * 1024)
    response = send_stream(
        limited_app,
        method,
        path,
        authed,
        body,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn sets it
    )
    assert_error(response, 413, TOO_LARGE)
    assert body.consumed <= LIMIT + 1


def test_streamed_body_without_a_terminating_server_is_never_read(build):
    # A server that does not mark the stream as terminated gives no safe end: Werkzeug hands the
    # app an empty body rather than reading an unbounded stream.
    app = build("testing", MAX_CONTENT_LENGTH=str(LIMIT))
    body = EndlessBody(64 * 1024 * 1024)
    response = send_stream(
        app, "POST", LOGIN, False, body, headers={"Transfer-Encoding": "chunked"}
    )
    assert_error(response, 422, {"user": ["can't be blank"]})
    assert body.consumed == 0


# --- JSON bombs -----------------------------------------------------------------------------------

DEEP = 100_000


@pytest.mark.parametrize(
    "body",
    [
        '{"user": {"email": ' + "[" * DEEP + "]" * DEEP + ', "password": "x"}}',
        '{"user": {"email": "a@b.c", "password": ' + '{"a":' * DEEP + "1" + "}" * DEEP + "}}",
        '{"user": ' + "[" * DEEP + "]" * DEEP + "}",
        "[" * DEEP,  # never closed
    ],
    ids=["in-a-field", "objects-in-a-field", "as-the-envelope", "unterminated"],
)
@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_deeply_nested_json_anywhere_is_400_not_500(build, config_name, body):
    name, env = CONFIGS[config_name]
    response = send(build(name, **env), "POST", LOGIN, False, data=body)
    assert response.status_code == 400
    assert response.get_json()["errors"]["body"]


def test_nesting_just_below_the_parser_limit_is_a_validation_error(client):
    body = '{"user": {"email": ' + "[" * 500 + "]" * 500 + ', "password": "x"}}'
    response = client.post(LOGIN, data=body, content_type="application/json")
    assert_error(response, 422, {"email": ["must be a string"]})


@pytest.mark.parametrize(
    "value",
    ["9" * 4000, "-" + "9" * 4000, "1e400", "-1e400", "1" + "0" * 4000 + ".5"],
    ids=[
        "4000-digits",
        "negative-4000-digits",
        "float-overflow",
        "negative-overflow",
        "long-float",
    ],
)
def test_huge_numbers_where_strings_belong_are_422(client, value):
    body = '{"user": {"email": ' + value + ', "password": "correct horse battery"}}'
    response = client.post(LOGIN, data=body, content_type="application/json")
    assert_error(response, 422, {"email": ["must be a string"]})


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_numbers_are_client_errors(client, token):
    body = '{"user": {"email": ' + token + ', "password": "x"}}'
    response = client.post(LOGIN, data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.get_json()["errors"]


def test_huge_string_is_refused_without_being_echoed(client, user):
    title = "A" * 900_000  # inside the 1 MiB body limit, far over the field's limit
    body = {"article": {"title": title, "description": "d", "body": "b"}}
    response = client.post("/api/articles", json=body, headers=auth_header(user["token"]))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["title"]
    assert len(response.get_data()) < 200


def test_many_keys_in_one_object_are_ignored_not_a_500(client):
    # Unknown keys are excluded by the schemas; a wide object is just a big body.
    extra = {f"k{i}": i for i in range(50_000)}
    body = json.dumps({"user": {"email": "nobody@example.com", "password": "x", **extra}})
    response = client.post(LOGIN, data=body, content_type="application/json")
    assert_error(response, 401, {"credentials": ["invalid"]})


# --- SQL metacharacters ---------------------------------------------------------------------------

SQL_PAYLOADS = ["x' OR '1'='1", "'; DROP TABLE articles; --", '" OR ""="', "%", "_"]


def test_sql_metacharacters_are_data_never_sql(client, user):
    # Every statement binds its parameters (SQLAlchemy); no filter uses LIKE, so % and _ too
    # are plain characters.
    token = auth_header(user["token"])
    title = "x'); DELETE FROM users; --"
    article = {"article": {"title": title, "description": "d", "body": "b", "tagList": ["t"]}}
    created = client.post("/api/articles", json=article, headers=token)
    assert created.status_code == 201
    assert created.get_json()["article"]["title"] == title
    for payload in SQL_PAYLOADS:
        for param in ("tag", "author", "favorited"):
            listed = client.get("/api/articles", query_string={param: payload})
            assert listed.get_json() == {"articles": [], "articlesCount": 0}, (param, payload)
        login = {"user": {"email": payload, "password": payload}}
        assert_error(client.post(LOGIN, json=login), 401, {"credentials": ["invalid"]})
    assert client.get("/api/articles").get_json()["articlesCount"] == 1
    assert client.get("/api/user", headers=token).status_code == 200


# --- paging parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["9" * 5000, "1e3", "NaN", "inf", "0x10", "", "\x00", "1 000"],
    ids=["5000-digits", "exponent", "nan", "inf", "hex", "empty", "nul", "space-inside"],
)
@pytest.mark.parametrize("param", ["limit", "offset"])
def test_unparseable_limit_or_offset_is_422(client, param, value):
    # int() refuses more than 4300 digits with a ValueError: a 422, not a 500.
    response = client.get("/api/articles", query_string={param: value})
    assert_error(response, 422, {param: ["must be an integer"]})


def test_offset_at_the_largest_bound_is_an_empty_page(client):
    assert client.get("/api/articles?offset=2147483647").get_json() == {
        "articles": [],
        "articlesCount": 0,
    }


# --- login timing ---------------------------------------------------------------------------------


@pytest.fixture
def verified_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every hash ``PasswordHasher.verify`` is called with; the real verify still runs."""
    calls: list[str] = []
    real_verify = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(hash if isinstance(hash, str) else hash.decode())
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    return calls


def _stored_hash(app: Flask, username: str) -> str:
    with app.app_context():
        value = db.session.scalar(select(User.password_hash).where(User.username == username))
        db.session.remove()
    assert value
    return value


def test_unknown_email_and_wrong_password_cost_one_equal_verification(
    app, client, user, verified_hashes
):
    stored = _stored_hash(app, user["username"])
    wrong = {"user": {"email": user["email"], "password": "not the password"}}
    unknown = {"user": {"email": "nobody@example.com", "password": "not the password"}}

    assert client.post(LOGIN, json=wrong).status_code == 401
    assert verified_hashes == [stored]

    verified_hashes.clear()
    assert client.post(LOGIN, json=unknown).status_code == 401
    assert len(verified_hashes) == 1
    dummy = verified_hashes[0]
    assert dummy != stored
    # Same algorithm and the same cost settings: the same work, whichever path was taken.
    assert extract_parameters(dummy) == extract_parameters(stored)


def test_unknown_email_and_wrong_password_answer_identically(build):
    app = build("production", RATELIMIT_ENABLED="true")
    client = app.test_client()
    registered = register(client)
    responses = [
        client.post(LOGIN, json={"user": {"email": email, "password": "not the password"}})
        for email in (registered["email"], "nobody@example.com")
    ]
    wrong, unknown = (
        (r.status_code, r.get_data(), sorted(k for k, _ in r.headers.items())) for r in responses
    )
    assert wrong == unknown
    assert wrong[0] == 401
