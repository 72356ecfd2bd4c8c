"""Security headers: every response of every configuration carries them, error responses
included; HSTS only in production and only on HTTPS; no HTTPS redirect in the app; the docs
page alone gets its wider Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.docs.routes import DOCS_CSP
from app.security.headers import PERMISSIONS_POLICY
from tests.security_apps import BOOM, building_apps

HTTPS = "https://api.example.com"
HTTP = "http://api.example.com"
HSTS = "max-age=31536000; includeSubDomains"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
EXPECTED = {
    "Content-Security-Policy": API_CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Other sites may not embed the API's responses without CORS (header-grading scans ask).
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Powerful features a page must never get from this service, whatever else the policy lists.
MUST_DENY = {"camera", "microphone", "geolocation", "payment", "usb", "serial", "display-capture"}
CONFIGS = ["production", "development", "testing"]
LOGIN = "/api/users/login"
CREDENTIALS = {"user": {"email": "nobody@example.com", "password": "not the password"}}


@pytest.fixture
def build(make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Flask]:
    return building_apps(make_app, monkeypatch)


def permissions(header: str) -> dict[str, str]:
    """``a=(), b=()`` as ``{"a": "()", "b": "()"}``."""
    return dict(part.strip().split("=", 1) for part in header.split(","))


def assert_security_headers(response: Any, hsts: bool) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.getlist(name) == [value], name
    policy = permissions(response.headers["Permissions-Policy"])
    assert policy == PERMISSIONS_POLICY
    assert set(policy.values()) == {"()"}  # every listed feature denied to every origin
    assert policy.keys() >= MUST_DENY
    if hsts:
        assert response.headers.getlist("Strict-Transport-Security") == [HSTS]
    else:
        assert "Strict-Transport-Security" not in response.headers


# --- success responses ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ping", "/api/tags", "/api/openapi.json", "/api/articles"])
def test_production_sends_every_header_with_hsts_over_https(build, path):
    response = build("production").test_client().get(path, base_url=HTTPS)
    assert response.status_code == 200
    assert_security_headers(response, hsts=True)


@pytest.mark.parametrize("config_name", ["development", "testing"])
@pytest.mark.parametrize("base_url", [HTTPS, HTTP])
def test_development_and_testing_send_every_header_but_never_hsts(build, config_name, base_url):
    response = build(config_name).test_client().get("/api/tags", base_url=base_url)
    assert response.status_code == 200
    assert_security_headers(response, hsts=False)


def test_production_sends_no_hsts_over_plain_http(build):
    # Browsers ignore HSTS over HTTP; sending it only on HTTPS is what the RFC asks.
    response = build("production").test_client().get("/api/tags", base_url=HTTP)
    assert_security_headers(response, hsts=False)


def test_production_ignores_a_forwarded_proto_when_no_proxy_is_trusted(build):
    # Stock Talisman believes a raw X-Forwarded-Proto from anyone; here only a trusted hop counts.
    app = build("production", TRUSTED_PROXY_HOPS="0")
    response = app.test_client().get(
        "/api/tags", base_url=HTTP, headers={"X-Forwarded-Proto": "https"}
    )
    assert_security_headers(response, hsts=False)


def test_each_app_keeps_its_own_header_settings(build):
    # Talisman keeps its settings on its instance: one shared instance re-initialised by the
    # development app would silently turn the production app's HSTS off.
    production = build("production")
    build("development")
    assert_security_headers(production.test_client().get("/ping", base_url=HTTPS), hsts=True)


# --- no redirect to HTTPS in the app -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", LOGIN, {"json": CREDENTIALS}, 401),
        ("GET", "/api/tags", {}, 200),
        ("GET", "/api/docs", {}, 200),
    ],
)
def test_production_answers_plain_http_itself_without_redirecting(
    build, method, path, kwargs, status
):
    # nginx redirects browsers (308); the app redirecting would turn POSTs into GETs and loop
    # behind a proxy that does not forward the scheme. Health probes: tests/test_health.py.
    response = build("production").test_client().open(path, method=method, base_url=HTTP, **kwargs)
    assert response.status_code == status
    assert "Location" not in response.headers


# --- error responses -----------------------------------------------------------------------------

ERRORS = {
    400: ("POST", LOGIN, {"data": "{", "content_type": "application/json"}),
    401: ("GET", "/api/user", {}),
    404: ("GET", "/api/no-such-route", {}),
    405: ("DELETE", LOGIN, {}),
    413: ("POST", LOGIN, {"data": b" " * 1001, "content_type": "application/json"}),
    422: ("POST", LOGIN, {"json": {"user": {}}}),
    500: ("GET", BOOM, {}),
}


@pytest.mark.parametrize("status", list(ERRORS))
@pytest.mark.parametrize("config_name", CONFIGS)
def test_error_responses_carry_every_header(build, config_name, status):
    method, path, kwargs = ERRORS[status]
    app = build(config_name, MAX_CONTENT_LENGTH="1000")
    response = app.test_client().open(path, method=method, base_url=HTTPS, **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert_security_headers(response, hsts=config_name == "production")


@pytest.mark.parametrize("config_name", CONFIGS)
def test_rate_limited_responses_carry_every_header(build, config_name):
    app = build(config_name, RATELIMIT_ENABLED="true", RATELIMIT_READ="1/minute")
    client = app.test_client()
    client.get("/api/tags", base_url=HTTPS)
    response = client.get("/api/tags", base_url=HTTPS)
    assert response.status_code == 429
    assert response.get_json()["errors"]["rate_limit"]
    assert_security_headers(response, hsts=config_name == "production")


# --- the docs page -------------------------------------------------------------------------------


def csp(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("config_name", CONFIGS)
def test_docs_page_keeps_its_narrow_csp_and_every_other_header(build, config_name):
    response = build(config_name).test_client().get("/api/docs", base_url=HTTPS)
    assert response.status_code == 200
    assert response.headers.getlist("Content-Security-Policy") == [
        "; ".join(f"{name} {value}" for name, value in DOCS_CSP.items())
    ]
    policy = csp(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert not any("unsafe" in value or "*" in value for value in policy.values())
    expected = {
        name: value for name, value in EXPECTED.items() if name != "Content-Security-Policy"
    }
    for name, value in expected.items():
        assert response.headers[name] == value
    assert permissions(response.headers["Permissions-Policy"]) == PERMISSIONS_POLICY
    assert ("Strict-Transport-Security" in response.headers) is (config_name == "production")


def test_docs_assets_and_errors_under_docs_keep_the_api_csp(build):
    client = build("production").test_client()
    for path in ("/api/docs/assets/swagger-ui.css", "/api/docs/assets/nope.js"):
        assert client.get(path, base_url=HTTPS).headers["Content-Security-Policy"] == API_CSP


# --- what the app does not say -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ping", "/api/tags", "/api/no-such-route", BOOM])
def test_no_server_software_or_version_in_the_headers(build, path):
    # The app adds no Server or X-Powered-By header; gunicorn's is checked in test_gunicorn.py.
    response = build("production").test_client().get(path, base_url=HTTPS)
    assert "Server" not in response.headers
    assert "X-Powered-By" not in response.headers
    assert not any("werkzeug" in value.lower() for _, value in response.headers.items())
