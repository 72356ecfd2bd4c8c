"""Request plumbing: the Authorization scheme, request ids and one log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, request
from flask.sessions import NullSession, SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# The scheme alone ("Bearer", no token) is rewritten too, so it fails like a bare "Token".
_AUTH_SCHEME = re.compile(r"^\s*(bearer|token)(?:\s+|$)", re.IGNORECASE)
HEALTH_PATHS = ("/ping", "/health")

request_log = logging.getLogger("app.request")


class AuthorizationSchemeMiddleware:
    """Accept ``Bearer <jwt>`` as well as the RealWorld ``Token <jwt>`` (any case).

    flask-jwt-extended knows one header type, so both spellings are rewritten to ``Token``
    before Flask sees the request: the limiter's key function and every route then agree.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        header = environ.get("HTTP_AUTHORIZATION")
        if header:
            environ["HTTP_AUTHORIZATION"] = _AUTH_SCHEME.sub("Token ", header, count=1)
        return self.wsgi_app(environ, start_response)


class NoCookieSessions(SessionInterface):
    """No Flask session: clients authenticate with a token in ``Authorization`` and the API
    never sets a cookie (so no CSRF either). Flask's default cookie session built a signing
    serializer from ``SECRET_KEY`` on every request just to find no cookie — a sixth of what
    ``/ping`` cost. Writing to ``flask.session`` raises."""

    def open_session(self, app: Flask, request: Any) -> NullSession:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        return None


def current_request_id() -> str:
    """The id of the request being served (generated if the caller sent none or a bad one)."""
    return getattr(g, "request_id", "-")


def _assign_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    started = getattr(g, "request_started", None)
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    level = logging.DEBUG if request.path.startswith(HEALTH_PATHS) else logging.INFO
    if not request_log.isEnabledFor(level):  # e.g. probes at INFO: skip building the record
        return response
    request_log.log(
        level,
        "%s %s %s %sms",
        request.method,
        request.path,
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "remote_addr": request.remote_addr,
            "user_id": getattr(g, "user_id", None),
            "response_size": response.calculate_content_length(),
        },
    )
    return response


def trust_proxies(app: Flask) -> None:
    """Believe the last ``TRUSTED_PROXY_HOPS`` proxies about the client and the scheme.

    Outermost WSGI layer, so the limiter's key, the request log line and Talisman's HSTS all
    see the client's address and the scheme it used. ``x_for``: each proxy appends the peer it
    saw, so the entry ``hops`` from the end is the client as the outermost trusted proxy saw
    it; anything earlier is the client's to forge. ``x_proto=1``: nginx overwrites
    X-Forwarded-Proto with its own scheme (one value), which ProxyFix would ignore entirely
    with ``x_proto`` above 1. Host, port and prefix are not taken from headers: nginx sets
    Host itself and nothing here builds absolute URLs.
    """
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1)  # type: ignore[method-assign]


def register_request_hooks(app: Flask) -> None:
    app.session_interface = NoCookieSessions()
    app.wsgi_app = AuthorizationSchemeMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    trust_proxies(app)  # after, so it wraps the rewrite too and runs first
    # First of all before-request hooks: the limiter's (registered earlier) may reject the
    # request, and that response needs an id and a duration too.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_request_id)
    app.after_request(_finish_request)
