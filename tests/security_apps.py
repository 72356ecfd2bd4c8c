"""Apps in a chosen configuration for the security tests (headers, CORS, proxy, abuse).

``building_apps`` backs a ``build`` fixture in each of those modules: ``build("production",
CORS_ORIGINS=...)`` gives an app with valid secrets and cheap hashing on the test database, a
route that fails on purpose, and rate limiting off unless asked for.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from config import CHEAP_PASSWORD_HASHING

ALLOWED_ORIGIN = "https://app.example.com"
BOOM = "/api/__test__/boom"
RESET_EACH_BUILD = (
    "CORS_ORIGINS",
    "TRUSTED_PROXY_HOPS",
    "MAX_CONTENT_LENGTH",
    "REDIS_URL",
    "RATELIMIT_READ",
)


def _boom() -> Any:
    raise RuntimeError("security test failure")


def building_apps(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Flask]:
    """``build(config_name, **env)``: an app with the settings above (``make_app`` closes its
    connection pool after the test)."""

    def build(config_name: str = "production", **env: str) -> Flask:
        for name in RESET_EACH_BUILD:  # the shell's own settings must not leak in
            monkeypatch.delenv(name, raising=False)
        settings = {**CHEAP_PASSWORD_HASHING, "RATELIMIT_ENABLED": "false", "LOG_LEVEL": "INFO"}
        if config_name == "production":
            settings.update(
                SECRET_KEY=secrets.token_urlsafe(48),
                JWT_SECRET_KEY=secrets.token_urlsafe(48),
                CORS_ORIGINS=ALLOWED_ORIGIN,
            )
        app = make_app(config_name, **{**settings, **env})
        app.add_url_rule(BOOM, endpoint="security-test-boom", view_func=_boom)
        return app

    return build
