"""CORS: production answers exactly the origins in CORS_ORIGINS, development any origin (as
``*``); preflights allow the methods and headers SPA clients send; the headers a client needs
are exposed; credentials are never allowed; caches are told the answer depends on Origin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from config import ConfigError, get_config
from tests.security_apps import ALLOWED_ORIGIN, BOOM, building_apps

OTHER_ALLOWED = "https://admin.example.com:8443"
ORIGINS = f"{ALLOWED_ORIGIN},{OTHER_ALLOWED}"
REFUSED = [
    "https://evil.example.com",
    "https://app.example.com.evil.net",  # allowed origin as a prefix
    "https://xapp.example.com",
    "http://app.example.com",  # other scheme
    "https://app.example.com:444",  # other port
    "null",  # sandboxed frames and file:// pages
]
ACAO = "Access-Control-Allow-Origin"
EXPOSED = {"X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"}


@pytest.fixture
def build(make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Flask]:
    return building_apps(make_app, monkeypatch)


@pytest.fixture
def production(build: Callable[..., Flask]) -> Flask:
    return build("production", CORS_ORIGINS=ORIGINS)


def preflight(app: Flask, origin: str, method: str = "PUT", headers: str = "") -> Any:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return app.test_client().options("/api/user", headers=request_headers)


def names(header: str | None) -> set[str]:
    return {name.strip().lower() for name in (header or "").split(",") if name.strip()}


def cors_headers(response: Any) -> list[str]:
    return [name for name, _ in response.headers.items() if name.startswith("Access-Control-")]


def assert_varies_on_origin(response: Any) -> None:
    assert "origin" in names(", ".join(response.headers.getlist("Vary")))


# --- simple requests ------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, OTHER_ALLOWED, "HTTPS://APP.EXAMPLE.COM"])
def test_allowed_origin_is_echoed_with_vary_origin(production, origin):
    response = production.test_client().get("/api/tags", headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers.getlist(ACAO) == [origin]
    assert_varies_on_origin(response)
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_single_allowed_origin_also_varies_on_origin(build):
    # Flask-CORS itself adds Vary only with two or more origins; a cache would then hand the
    # allowed origin's answer (or the refused one's) to every other origin.
    app = build("production", CORS_ORIGINS=ALLOWED_ORIGIN)
    for origin in (ALLOWED_ORIGIN, "https://evil.example.com"):
        assert_varies_on_origin(app.test_client().get("/api/tags", headers={"Origin": origin}))


@pytest.mark.parametrize("origin", REFUSED)
def test_refused_origin_gets_no_cors_headers(production, origin):
    response = production.test_client().get("/api/tags", headers={"Origin": origin})
    assert response.status_code == 200  # the browser, not the server, withholds the body
    assert cors_headers(response) == []
    assert_varies_on_origin(response)


def test_request_without_origin_gets_no_cors_headers_and_no_origin_list(production):
    response = production.test_client().get("/api/tags")
    assert ACAO not in response.headers
    assert ALLOWED_ORIGIN not in str(response.headers)
    assert_varies_on_origin(response)


def test_exposed_headers_include_request_id_retry_after_and_rate_limits(production):
    response = production.test_client().get("/api/tags", headers={"Origin": ALLOWED_ORIGIN})
    exposed = names(response.headers["Access-Control-Expose-Headers"])
    assert exposed >= {name.lower() for name in EXPOSED}
    assert "x-ratelimit-reset" in exposed


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/user", 401), ("GET", "/api/no-such-route", 404), ("GET", BOOM, 500)],
)
def test_error_responses_carry_cors_headers_for_an_allowed_origin(production, method, path, status):
    # Else the SPA cannot read the error body (or its X-Request-ID) at all.
    response = production.test_client().open(
        path, method=method, headers={"Origin": ALLOWED_ORIGIN}
    )
    assert response.status_code == status
    assert response.headers[ACAO] == ALLOWED_ORIGIN
    assert "x-request-id" in names(response.headers["Access-Control-Expose-Headers"])


def test_rate_limited_response_carries_cors_headers_for_an_allowed_origin(build):
    app = build("production", RATELIMIT_ENABLED="true", RATELIMIT_READ="1/minute")
    client = app.test_client()
    client.get("/api/tags", headers={"Origin": ALLOWED_ORIGIN})
    response = client.get("/api/tags", headers={"Origin": ALLOWED_ORIGIN})
    assert response.status_code == 429
    assert response.headers[ACAO] == ALLOWED_ORIGIN
    assert "retry-after" in names(response.headers["Access-Control-Expose-Headers"])
    assert int(response.headers["Retry-After"]) > 0


# --- preflights ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_preflight_from_an_allowed_origin_allows_authorization_and_content_type(production, method):
    response = preflight(production, ALLOWED_ORIGIN, method, "authorization, content-type")
    assert response.status_code == 200
    assert response.headers[ACAO] == ALLOWED_ORIGIN
    assert method in {
        m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")
    }
    assert names(response.headers["Access-Control-Allow-Headers"]) == {
        "authorization",
        "content-type",
    }
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert_varies_on_origin(response)


def test_preflight_allows_a_request_id_header(production):
    response = preflight(production, ALLOWED_ORIGIN, "GET", "X-Request-ID")
    assert names(response.headers["Access-Control-Allow-Headers"]) == {"x-request-id"}


def test_preflight_does_not_allow_other_headers_or_methods(production):
    headers = preflight(production, ALLOWED_ORIGIN, "PUT", "authorization, x-evil").headers
    assert names(headers["Access-Control-Allow-Headers"]) == {"authorization"}
    patch = preflight(production, ALLOWED_ORIGIN, "PATCH", "authorization")
    assert "Access-Control-Allow-Methods" not in patch.headers


@pytest.mark.parametrize("origin", REFUSED[:3])
def test_preflight_from_a_refused_origin_allows_nothing(production, origin):
    response = preflight(production, origin, "PUT", "authorization, content-type")
    assert cors_headers(response) == []


def test_preflight_needs_no_token_and_runs_no_view(production):
    # /api/user refuses anonymous GETs with 401; its preflight is answered by Flask itself.
    response = preflight(production, ALLOWED_ORIGIN, "GET", "authorization")
    assert response.status_code == 200
    assert response.get_data() == b""


# --- production configuration --------------------------------------------------------------------


def test_production_without_cors_origins_answers_no_origin(build):
    app = build("production", CORS_ORIGINS="")
    response = app.test_client().get("/api/tags", headers={"Origin": ALLOWED_ORIGIN})
    assert ACAO not in response.headers
    assert ACAO not in preflight(app, ALLOWED_ORIGIN, "PUT", "authorization").headers


def test_without_cors_origins_answers_are_those_of_an_app_that_allows_others(build):
    """Flask-CORS is not installed without origins; nothing a caller sees changes for it."""
    seen = []
    for origins in ("", "https://other.example.com"):
        app = build("production", CORS_ORIGINS=origins)
        response = app.test_client().get("/api/tags", headers={"Origin": ALLOWED_ORIGIN})
        answer = preflight(app, ALLOWED_ORIGIN, "PUT", "authorization")
        seen.append(
            [
                (reply.status_code, sorted(set(reply.headers.keys()) - {"X-Request-ID"}))
                for reply in (response, answer)
            ]
        )
    assert seen[0] == seen[1]


@pytest.mark.parametrize(
    "origin",
    [
        "https://*.example.com",  # Flask-CORS would compile it into a prefix-matched regex
        "https://app.example.com/",  # browsers never send a trailing slash or a path
        "https://app.example.com/spa",
        "app.example.com",
        "https://app.example.com$",
        "null",
    ],
)
@pytest.mark.parametrize("config_name", ["production", "development"])
def test_an_entry_that_is_not_an_exact_origin_is_refused_at_start(config_name, origin):
    environ = {"SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40, "CORS_ORIGINS": origin}
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        get_config(config_name, environ=environ)


# --- development ---------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://localhost:3000", "https://anything.example", "null"])
def test_development_allows_any_origin_as_a_wildcard(build, origin):
    app = build("development")
    response = app.test_client().get("/api/tags", headers={"Origin": origin})
    assert response.headers.getlist(ACAO) == ["*"]
    flight = preflight(app, origin, "POST", "authorization, content-type")
    assert flight.headers[ACAO] == "*"
    assert names(flight.headers["Access-Control-Allow-Headers"]) == {
        "authorization",
        "content-type",
    }


def test_credentials_are_never_allowed_with_the_wildcard(build):
    # Browsers refuse credentialed requests with "*"; the service never asks for them either.
    app = build("development")
    responses = [
        app.test_client().get("/api/tags", headers={"Origin": "http://localhost:3000"}),
        preflight(app, "http://localhost:3000", "PUT", "authorization"),
    ]
    for response in responses:
        assert response.headers[ACAO] == "*"
        assert "Access-Control-Allow-Credentials" not in response.headers
