"""X-Request-ID: the caller's sane id is echoed, anything else is replaced by a generated one, and
every response carries one, errors and rejected requests included."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Blueprint, Flask

from app.security.ratelimit import get_limiter

HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
LOGIN = "/api/users/login"


def assert_generated(value: str | None, sent: str | None = None) -> None:
    """A fresh id: present, sane, long enough to be unique, not what the caller sent."""
    assert value
    assert SANE_ID.fullmatch(value)
    assert len(value) >= 16
    assert value != sent


@pytest.mark.parametrize(
    "incoming",
    ["abc", "req-1.2_3", "0", "A" * 128, "3f1c2a7e-9b4d-4c1e-8f00-1234567890ab", "a.b.c--__"],
)
def test_sane_incoming_request_id_is_echoed(client, incoming):
    response = client.get("/ping", headers={HEADER: incoming})
    assert response.status_code == 200
    assert response.headers[HEADER] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "A" * 129,
        "has space",
        "<script>alert(1)</script>",
        "",
        "semi;colon",
        "../../etc/passwd",
        "tab\there",
        "caf\u00e9",
        "quote'id",
    ],
    ids=[
        "too-long",
        "space",
        "script",
        "empty",
        "semicolon",
        "slashes",
        "tab",
        "non-ascii",
        "quote",
    ],
)
def test_insane_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/ping", headers={HEADER: incoming})
    assert response.status_code == 200
    assert_generated(response.headers.get(HEADER), sent=incoming)


def test_request_id_is_generated_when_none_is_sent(client):
    response = client.get("/ping")
    assert_generated(response.headers.get(HEADER))


def test_generated_request_ids_differ_between_requests(client):
    ids = {client.get("/ping").headers[HEADER] for _ in range(20)}
    assert len(ids) == 20


@pytest.fixture
def failing_app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app()

    def boom() -> Any:
        raise RuntimeError("request id test failure")

    app.add_url_rule("/api/__test__/boom", endpoint="boom", view_func=boom)
    return app


ERROR_REQUESTS = {
    404: ("GET", "/api/no-such-route", {}),
    405: ("DELETE", LOGIN, {}),
    400: ("POST", LOGIN, {"data": "{", "content_type": "application/json"}),
    413: ("POST", LOGIN, {"data": b"x" * (1024 * 1024 + 1)}),
    422: ("POST", LOGIN, {"json": {"user": {}}}),
    401: ("GET", "/api/user", {}),
    500: ("GET", "/api/__test__/boom", {}),
}


@pytest.mark.parametrize("status", list(ERROR_REQUESTS))
def test_error_response_echoes_the_callers_request_id(failing_app, status):
    method, path, kwargs = ERROR_REQUESTS[status]
    headers = {HEADER: f"err-{status}"}
    response = failing_app.test_client().open(path, method=method, headers=headers, **kwargs)
    assert response.status_code == status
    assert response.headers[HEADER] == f"err-{status}"


@pytest.mark.parametrize("status", list(ERROR_REQUESTS))
def test_error_response_carries_a_generated_request_id(failing_app, status):
    method, path, kwargs = ERROR_REQUESTS[status]
    response = failing_app.test_client().open(path, method=method, **kwargs)
    assert response.status_code == status
    assert_generated(response.headers.get(HEADER))


@pytest.fixture
def rate_limited_app(make_app: Callable[..., Flask]) -> Flask:
    """An app with a throwaway blueprint limited to one request a minute.

    A blueprint limit is checked before the view, like the class limits; the limiter is this
    app's own, so the extra limit cannot leak into later apps.
    """
    app = make_app(RATELIMIT_ENABLED="true")
    blueprint = Blueprint("request_id_limited", __name__, url_prefix="/api/__test__")
    blueprint.add_url_rule("/limited", endpoint="limited", view_func=lambda: {"ok": True})
    get_limiter(app).limit("1/minute")(blueprint)
    app.register_blueprint(blueprint)
    return app


def test_rate_limited_response_echoes_the_callers_request_id(rate_limited_app):
    client = rate_limited_app.test_client()
    assert client.get("/api/__test__/limited").status_code == 200
    response = client.get("/api/__test__/limited", headers={HEADER: "limited-1"})
    assert response.status_code == 429
    assert response.headers[HEADER] == "limited-1"


def test_rate_limited_response_carries_a_generated_request_id(rate_limited_app):
    client = rate_limited_app.test_client()
    assert client.get("/api/__test__/limited").status_code == 200
    response = client.get("/api/__test__/limited")
    assert response.status_code == 429
    assert_generated(response.headers.get(HEADER))
