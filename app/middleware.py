"""Request plumbing: the WSGI layers in front of Flask, and the hooks that open and close every
request (its id, its timing, its one log line). ``app/pipeline.py`` puts them in order."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, request
from flask.sessions import NullSession, SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from app.request_id import REQUEST_ID_HEADER, assign_request_id, current_request_id

# The scheme alone ("Bearer", no token) is rewritten too, so it fails like a bare "Token".
_AUTH_SCHEME = re.compile(r"^\s*(bearer|token)(?:\s+|$)", re.IGNORECASE)
TOKEN_KEY = "conduit.token"  # noqa: S105 - the WSGI environ key under which the token goes
HEALTH_PATHS = ("/ping", "/health")  # load-balancer probes: logged at DEBUG

request_log = logging.getLogger("app.request")


class RequestHeaders:
    """WSGI: the request headers later layers must be able to take at face value.

    - ``Authorization`` is parsed here, once per request. ``Bearer <jwt>`` (any case) becomes
      ``<scheme> <jwt>`` (``Token``, the RealWorld scheme and the only one the token library
      knows), and the token itself goes to ``environ[TOKEN_KEY]`` (None when the header holds
      no ``<scheme> <token>``) for the rate limiter's key and the routes.
    - ``X-Forwarded-Proto`` is removed. ProxyFix, outside this layer, has already turned it into
      the request's scheme when it came from a trusted proxy; left in place, Flask-Talisman
      would also believe it from anyone and send HSTS on plain HTTP.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], scheme: str) -> None:
        self.wsgi_app = wsgi_app
        self.scheme = scheme

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        header = environ.get("HTTP_AUTHORIZATION")
        token = None
        if header:
            header = _AUTH_SCHEME.sub(f"{self.scheme} ", header, count=1)
            environ["HTTP_AUTHORIZATION"] = header
            parts = header.split()
            if len(parts) == 2 and parts[0] == self.scheme:
                token = parts[1]
        environ[TOKEN_KEY] = token
        environ.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.wsgi_app(environ, start_response)


def trust_proxies(app: Flask) -> None:
    """Believe the last ``TRUSTED_PROXY_HOPS`` proxies about the client and the scheme.

    Outermost WSGI layer, so the limiter's key, the request log line and HSTS all see the
    client's address and the scheme it used. ``x_for``: each proxy appends the peer it saw, so
    the entry ``hops`` from the end is the client as the outermost trusted proxy saw it;
    anything earlier is the client's to forge. ``x_proto=1``: nginx overwrites
    X-Forwarded-Proto with its own scheme (one value), which ProxyFix would ignore entirely
    with ``x_proto`` above 1. Host, port and prefix are not taken from headers: nginx sets
    Host itself and nothing here builds absolute URLs.
    """
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1)  # type: ignore[method-assign]


class NoCookieSessions(SessionInterface):
    """No Flask session: clients authenticate with a token in ``Authorization`` and the API
    never sets a cookie (so no CSRF either), and no request pays for building a signing
    serializer to find no cookie. Writing to ``flask.session`` raises."""

    def open_session(self, app: Flask, request: Any) -> NullSession:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        return None


def start_request() -> None:
    """First of every request: its id (so a 429 or any error carries it) and its timer."""
    assign_request_id()
    g.request_started = time.perf_counter()


def finish_request(response: Response) -> Response:
    """Last of every response: ``X-Request-ID`` and the request's one log line (probes at
    DEBUG), after every other layer has had its say on the status and headers."""
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    level = logging.DEBUG if request.path.startswith(HEALTH_PATHS) else logging.INFO
    if not request_log.isEnabledFor(level):  # e.g. probes at INFO: skip building the record
        return response
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
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
            "user_id": g.get("user_id"),
            "response_size": response.calculate_content_length(),
        },
    )
    return response
