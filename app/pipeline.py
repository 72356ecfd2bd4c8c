"""The request pipeline: every layer a request passes through, registered here in one place.

In the order they run for one request:

    WSGI      RequestMetrics            with METRICS_ENABLED: conduit_http_requests_in_flight
                                        while the request runs (down in a ``finally``), then
                                        its count by route template and status, its duration
    WSGI      ProxyFix                  client address and scheme from TRUSTED_PROXY_HOPS proxies
    WSGI      RequestHeaders            Authorization parsed (Bearer -> Token); X-Forwarded-Proto
                                        removed (ProxyFix has applied it if trusted)
    before    start_request             request id, timer
    before    Flask-Limiter             a 429 instead of the view when a limit is spent
                                        (conduit_rate_limit_refusals_total, by class)
    before    Flask-Talisman            (no HTTPS redirect: nginx's job; no CSP nonce)
              the view                  blueprints; anything raised ends in app/errors.py
    after     Flask-Talisman            security headers
    after     Flask-CORS                CORS headers for an allowed Origin (with CORS_ORIGINS only)
    after     cross_origin_headers      Vary: Origin; Cross-Origin-Resource-Policy
    after     Flask-Limiter             X-RateLimit-* headers
    after     fix_retry_after           Retry-After only on 429/503, never below 1
    after     finish_request            X-Request-ID, the request's log line
    teardown  close_database_session    the session ends; a dead connection cannot 500 here

Flask runs ``before_request`` hooks in the order they were registered and ``after_request``
hooks in the reverse order, so each layer below registers its before and after halves
together, outermost layer first; the extensions register theirs in ``init_app``. Error
responses go through the after hooks too, so they carry every header.
"""

from __future__ import annotations

from flask import Flask

from app.database import close_database_session
from app.middleware import (
    NoCookieSessions,
    RequestHeaders,
    finish_request,
    start_request,
    trust_proxies,
)
from app.observability.metrics_requests import RequestMetrics
from app.security.headers import cross_origin_headers, init_cors, init_security_headers
from app.security.ratelimit import fix_retry_after, init_rate_limiting


def register_request_pipeline(app: Flask) -> None:
    """Install every layer of the table above on ``app``, in its order."""
    app.session_interface = NoCookieSessions()  # token auth only: no cookie session to open
    scheme = app.config["JWT_HEADER_TYPE"]
    app.wsgi_app = RequestHeaders(app.wsgi_app, scheme)  # type: ignore[method-assign]
    trust_proxies(app)  # after, so it wraps RequestHeaders and runs first
    if app.config["METRICS_ENABLED"]:  # outermost: measures all of the above and below
        app.wsgi_app = RequestMetrics(app.wsgi_app, app)  # type: ignore[method-assign]

    app.before_request(start_request)
    app.after_request(finish_request)  # registered first: runs last

    if app.config["RATELIMIT_ENABLED"]:
        app.after_request(fix_retry_after)  # before the limiter's hook: runs after it
    init_rate_limiting(app)

    app.after_request(cross_origin_headers)
    init_cors(app)

    init_security_headers(app)

    app.teardown_appcontext(close_database_session)  # after Flask-SQLAlchemy's: runs before it
