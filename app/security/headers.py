"""Security headers (Flask-Talisman, plus ``cross_origin_headers``) and CORS (Flask-CORS) on
every response the app writes, error responses included: they work in ``after_request``, which
Flask also runs for the responses of error handlers.

What changes between configurations is only HSTS (``HSTS_ENABLED``, production) and the CORS
origins (``CORS_ORIGINS``: a list in production, ``*`` in development).
"""

from __future__ import annotations

from flask import Flask, Response
from flask_talisman import Talisman

from app.extensions import cors

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
    "Link",  # the next page's cursor of article lists (docs/adr/0009)
]
CORS_MAX_AGE = 600  # seconds a browser may cache a preflight answer


# Rendered once here: Flask-Talisman passes a string policy through as it is, where a dict would
# be joined again on every response.
PERMISSIONS_POLICY_HEADER = ", ".join(f"{name}={rule}" for name, rule in PERMISSIONS_POLICY.items())


def init_security_headers(app: Flask) -> Talisman:
    """Give ``app`` its own Flask-Talisman, configured from its config class.

    Not the shared ``app.extensions`` object: Talisman keeps its settings on the instance, so
    a second app built in the same process (tests) would change the first one's headers. The
    docs page widens its CSP with ``@talisman(...)`` from ``app.extensions``, which only tags
    the view. HSTS is sent only on requests that really are HTTPS: the server's own TLS, or
    the scheme ProxyFix accepted from a trusted proxy (``RequestHeaders`` removes the raw
    ``X-Forwarded-Proto``, which Talisman would otherwise believe from anyone).
    """
    hsts = bool(app.config["HSTS_ENABLED"])
    return Talisman(
        app,
        force_https=False,  # nginx redirects; a Flask-side 302 breaks POSTs and LB probes
        strict_transport_security=hsts,
        strict_transport_security_max_age=HSTS_MAX_AGE,
        strict_transport_security_include_subdomains=True,
        strict_transport_security_preload=False,  # preloading is a one-way, per-domain decision
        content_security_policy=API_CSP,
        frame_options="DENY",
        referrer_policy="no-referrer",
        permissions_policy=PERMISSIONS_POLICY_HEADER,
        x_content_type_options=True,
        session_cookie_secure=hsts,  # no session cookie is used; harmless, kept strict
    )


def init_cors(app: Flask) -> None:
    """Answer CORS requests from ``CORS_ORIGINS`` (``*``: any origin, development only).

    With no origin listed (production's default: the SPA is served from the API's own origin)
    Flask-CORS is not installed: it would match every request and add nothing to any.
    """
    origins: list[str] = list(app.config["CORS_ORIGINS"])
    if not origins:
        return
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
        # cross_origin_headers adds it to every response instead.
        vary_header=False,
    )


def cross_origin_headers(response: Response) -> Response:
    """Headers about other origins on every response (errors included).

    ``Vary: Origin``: the CORS headers depend on the caller's Origin, so a cache must not serve
    one origin's answer to another. ``Cross-Origin-Resource-Policy: same-origin``: other sites
    may not embed our responses without CORS (an ``<img>`` or ``<script>`` pointing here);
    browser pages of allowed origins still read the API through CORS, which CORP does not
    affect.
    """
    headers = response.headers
    if "Vary" in headers:
        response.vary.add("Origin")
    else:  # the common case: appended, without parsing and re-serialising a header set
        headers.add("Vary", "Origin")
    headers.add("Cross-Origin-Resource-Policy", "same-origin")  # nothing else sets it
    return response
