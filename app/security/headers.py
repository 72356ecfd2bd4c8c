"""Security headers (Flask-Talisman) and CORS (Flask-CORS) on every response the app writes,
error responses included: both work in ``after_request``, which Flask also runs for the
responses of error handlers.

What changes between configurations is only HSTS (``HSTS_ENABLED``, production) and the CORS
origins (``CORS_ORIGINS``: a list in production, ``*`` in development).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_talisman import Talisman

HSTS_MAX_AGE = 31536000  # one year, in seconds
# A JSON API loads nothing and is never framed. The docs page (app/docs/routes.py) widens this
# for itself alone.
API_CSP: dict[str, str] = {"default-src": "'none'", "frame-ancestors": "'none'"}
# Browser features neither the API nor the docs page uses, all denied. Only names browsers
# recognise (an unknown one is a console warning), and no clipboard-write: Swagger UI's copy
# buttons use it.
DENIED_FEATURES = (
    "accelerometer",
    "autoplay",
    "bluetooth",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-create",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY: dict[str, str] = {feature: "()" for feature in DENIED_FEATURES}

# CORS: what a browser page on an allowed origin may send and read.
CORS_METHODS = ["GET", "POST", "PUT", "DELETE"]
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "X-Request-ID"]
CORS_EXPOSE_HEADERS = [
    "X-Request-ID",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
CORS_MAX_AGE = 600  # seconds a browser may cache a preflight answer


class SecureRequestTalisman(Talisman):
    """Talisman that sends HSTS only when the request really is HTTPS, and that builds each
    view's headers once.

    Stock Talisman also believes a raw ``X-Forwarded-Proto: https`` from anyone. Here only
    ``request.is_secure`` counts: the server's own TLS, or the scheme that ProxyFix accepted
    from a trusted proxy hop (``TRUSTED_PROXY_HOPS``).

    Stock Talisman also re-renders every policy string on every response, which was a third of
    what ``/ping`` cost. Without CSP nonces (this app uses none) the headers depend only on the
    view, so they are rendered on a view's first response and copied after that.
    """

    _HSTS = "Strict-Transport-Security"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Per view (endpoint): the rendered headers, and their names in lower case.
        self._rendered: dict[str | None, tuple[list[tuple[str, str]], frozenset[str]]] = {}
        super().__init__(*args, **kwargs)

    def _set_hsts_headers(self, headers: Any) -> None:
        if request.is_secure:
            super()._set_hsts_headers(headers)

    def _set_response_headers(self, response: Response) -> Response:
        if self.content_security_policy_nonce_in:
            return super()._set_response_headers(response)  # type: ignore[no-any-return]
        cache = self._rendered
        endpoint = request.endpoint
        if endpoint not in cache:
            rendered = Response()
            rendered.headers.clear()
            super()._set_response_headers(rendered)
            items = [(k, v) for k, v in rendered.headers.items() if k != self._HSTS]
            cache[endpoint] = (items, frozenset(k.lower() for k, _ in items))
        headers, names = cache[endpoint]
        if names.isdisjoint(name.lower() for name, _ in response.headers):
            response.headers.extend(headers)  # appends: no scan per header
        else:
            response.headers.update(headers)  # a view set one of them: replace it
        self._set_hsts_headers(response.headers)
        return response


def register_security_headers(app: Flask) -> None:
    """Give ``app`` its own Talisman instance.

    Not the shared ``app.extensions`` singleton: Talisman keeps its settings on the instance,
    so a second app built in the same process (tests) would change the first one's headers.
    ``@talisman(...)`` from ``app.extensions`` still works on views: it only tags the view.
    """
    hsts = bool(app.config["HSTS_ENABLED"])
    talisman = app.extensions["talisman"] = SecureRequestTalisman(
        app,
        force_https=False,  # nginx redirects; a Flask-side 302 breaks POSTs and LB probes
        strict_transport_security=hsts,
        strict_transport_security_max_age=HSTS_MAX_AGE,
        strict_transport_security_include_subdomains=True,
        strict_transport_security_preload=False,  # preloading is a one-way, per-domain decision
        content_security_policy=API_CSP,
        frame_options="DENY",
        referrer_policy="no-referrer",
        permissions_policy=PERMISSIONS_POLICY,
        x_content_type_options=True,
        session_cookie_secure=hsts,  # no session cookie is used; harmless, kept strict
    )
    # Talisman's two before-request hooks would only redirect to HTTPS (off: nginx's job) and
    # make CSP nonces (none used); each is a call on every request, so they are taken out.
    # The first also sets the cookie flag lazily; set it here instead.
    app.config["SESSION_COOKIE_SECURE"] = hsts
    hooks = app.before_request_funcs.setdefault(None, [])
    for unused in (talisman._force_https, talisman._make_nonce):
        hooks.remove(unused)


def register_cors(app: Flask) -> None:
    """Answer CORS requests from ``CORS_ORIGINS`` (``*``: any origin, development only)."""
    from app.extensions import cors

    origins: list[str] = list(app.config["CORS_ORIGINS"])
    cors.init_app(
        app,
        origins=origins,
        methods=CORS_METHODS,
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        max_age=CORS_MAX_AGE,
        # Tokens travel in the Authorization header, never in cookies: no credentials mode,
        # which browsers refuse with "*" anyway.
        supports_credentials=False,
        # "*" is sent as "*" (not the caller's origin echoed back), so it is plainly public.
        send_wildcard="*" in origins,
        # CORS headers only for requests that carry an Origin: otherwise Flask-CORS would list
        # every allowed origin (as several headers) on plain requests.
        always_send=False,
        # Flask-CORS adds "Vary: Origin" only with two or more origins (or a regex);
        # _vary_on_origin adds it to every response instead: the CORS headers depend on Origin.
        vary_header=False,
    )
    _skip_cors_without_origin(app)
    app.after_request(_vary_on_origin)


def _skip_cors_without_origin(app: Flask) -> None:
    """Flask-CORS adds nothing to a request without ``Origin`` (not a browser's cross-origin
    request; ``always_send=False``) but still matched its resource patterns on each one, the
    probes' included. Its hook now runs only when there is an ``Origin``."""
    hooks = app.after_request_funcs.setdefault(None, [])
    for index, hook in enumerate(hooks):
        if getattr(hook, "__name__", "") == "cors_after_request":

            def with_origin_only(response: Response, _hook: Any = hook) -> Response:
                return _hook(response) if "Origin" in request.headers else response

            hooks[index] = with_origin_only


def _vary_on_origin(response: Response) -> Response:
    """A cache must not serve one origin's answer (with or without CORS headers) to another."""
    if "Vary" in response.headers:
        response.vary.add("Origin")
    else:  # the common case, without parsing and re-serialising a header set
        response.headers["Vary"] = "Origin"
    return response
