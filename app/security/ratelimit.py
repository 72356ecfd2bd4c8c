"""Rate limiting: who is counted (the keys), which limits apply where (the table), and the wiring.

Every endpoint belongs to one class, each with its own setting (``RATELIMIT_READ`` ...; values
and defaults in ``config.py``). ``ENDPOINT_LIMITS`` names the endpoints with their own classes;
every other endpoint is a read (GET, HEAD) or a write. Health probes, the docs, ``/metrics``
and CORS preflights are never counted; each refusal is (``conduit_rate_limit_refusals_total``,
by class). Each class is one budget shared by all its
endpoints, so a client cannot multiply its budget by spreading requests over routes. A limit
string may stack a burst and a sustained limit (``10/second;300/minute``): Flask-Limiter checks
both, with the sliding-window-counter strategy, which stands in for a token bucket (``limits``
has none).

Each app gets its own ``Limiter``: Flask-Limiter keeps its storage, key prefix and
"storage is dead" state on the instance, so one process-wide instance shared by every
``create_app()`` (the tests build many) would let each app reconfigure the others.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from flask import Flask, Response, current_app, g, request
from flask_jwt_extended import decode_token
from flask_limiter import Limit, Limiter, RequestLimit
from limits import RateLimitItem, parse_many
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from app.methods import READ_METHODS
from app.observability.metrics import count_rate_limit_refusal
from app.security import ratelimit_storage  # noqa: F401 - registers the failover+redis scheme
from app.security.ratelimit_window import PlannedHit, plan
from app.security.tokens import presented_token

EXTENSION_KEY = "conduit_limiter"
T = TypeVar("T")

# Keys -------------------------------------------------------------------------------------------
# Flask-Limiter treats any exception raised by a key function as a storage failure, so none of
# these may raise: every problem falls back to a key that still limits the request.


@lru_cache(maxsize=4096)  # a pure function of the address, asked for by every stacked limit
def _client_network(address: str | None) -> str:
    """The client's address; for IPv6 its /64, which one subscriber gets (and can rotate in)."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_ip_key() -> str:
    """``ip:<address>`` (the proxy-corrected ``remote_addr``), whatever token was sent."""
    return f"ip:{_client_network(request.remote_addr)}"


def _once_per_request(name: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept on ``flask.g`` under ``name`` for the rest of the request: the
    exemption checks and the key of each stacked limit all ask for the same things."""
    if name not in g:
        setattr(g, name, compute())
    value: T = getattr(g, name)
    return value


def _token_subject() -> str | None:
    """The ``sub`` of a valid token in ``Authorization``, else None; decoded once per request."""
    return _once_per_request("_ratelimit_token_subject", _decode_token_subject)


def _decode_token_subject() -> str | None:
    """The ``sub`` of a valid token in ``Authorization``, else None.

    ``decode_token`` checks the signature and expiry only: no user or session lookup (which
    would cost a query per limit checked) and it accepts refresh tokens, so ``/auth/refresh``
    is counted per user too. A revoked but well-signed token still names its user: the route
    refuses it, and the budget it spends is that user's own.
    """
    token = presented_token()
    if token is None:
        return None
    try:
        subject = decode_token(token).get(current_app.config["JWT_IDENTITY_CLAIM"])
    except Exception:  # expired, malformed, bad signature, wrong algorithm...
        return None
    return str(subject)[:64] if subject not in (None, "") else None


def rate_limit_key() -> str:
    """``user:<id>`` for a valid token, else ``ip:<address>``."""
    subject = _token_subject()
    return f"user:{subject}" if subject else client_ip_key()


def submitted_email() -> str | None:
    """The login body's ``user.email``, trimmed and lower-cased; None if there is none.

    The body is read with ``cache=True``, so the route's parser reads the same bytes; a body
    that is too large, malformed or too deep is left for the route to refuse. Parsed once per
    request: the exemption check and the key of each stacked limit all ask for it.
    """
    return _once_per_request("_ratelimit_login_email", _parse_submitted_email)


def _parse_submitted_email() -> str | None:
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except Exception:
        return None
    user = body.get("user") if isinstance(body, dict) else None
    email = user.get("email") if isinstance(user, dict) else None
    if not isinstance(email, str) or not email.strip():
        return None
    return email.strip().lower()


def login_email_key() -> str:
    """``email:<HMAC-SHA256 of the email>``: Redis keys and the limiter's log lines never hold
    an address in clear, and without ``SECRET_KEY`` the hash cannot be reversed by guessing."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, (submitted_email() or "").encode(), hashlib.sha256).hexdigest()
    return f"email:{digest[:32]}"


def _no_email() -> bool:
    # A login without an email cannot succeed (422); the per-IP limit still counts it.
    return submitted_email() is None


# The table --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitClass:
    """A budget: its name (part of the storage key), its setting, and whom it counts."""

    name: str
    setting: str
    key: Callable[[], str]
    exempt_when: Callable[[], bool] | None = None


READ = LimitClass("read", "RATELIMIT_READ", rate_limit_key)
WRITE = LimitClass("write", "RATELIMIT_WRITE", rate_limit_key)
LOGIN = LimitClass("login", "RATELIMIT_LOGIN", client_ip_key)  # a token must not buy a budget
LOGIN_EMAIL = LimitClass("login_email", "RATELIMIT_LOGIN_EMAIL", login_email_key, _no_email)
REGISTER = LimitClass("register", "RATELIMIT_REGISTER", client_ip_key)
AUTH = LimitClass("auth", "RATELIMIT_AUTH", rate_limit_key)
LIMIT_CLASSES = (READ, WRITE, LOGIN, LOGIN_EMAIL, REGISTER, AUTH)

# Endpoints with their own classes; endpoints that do not exist (yet) are simply never matched.
ENDPOINT_LIMITS: dict[str, tuple[LimitClass, ...]] = {
    "auth.login": (LOGIN, LOGIN_EMAIL),  # brute force (per IP) and credential stuffing (per email)
    "auth.register": (REGISTER,),
    "auth.refresh": (AUTH,),
    "auth.logout": (AUTH,),
    "auth.logout_all": (AUTH,),
}
# Load-balancer probes must never be refused; the docs are static; Prometheus scrapes /metrics
# (and anyone else gets a 404 there, uncounted, as on a path no route matches).
EXEMPT_BLUEPRINTS = frozenset({"health", "docs", "api-docs", "metrics"})


def limit_classes_for(endpoint: str | None, method: str) -> tuple[LimitClass, ...]:
    """The classes whose limits apply to a request for ``endpoint`` with ``method``."""
    if endpoint in ENDPOINT_LIMITS:
        return ENDPOINT_LIMITS[endpoint]
    return (READ,) if method in READ_METHODS else (WRITE,)


def is_exempt() -> bool:
    """Health probes, docs, metrics and CORS preflights (OPTIONS) are never counted."""
    return request.method == "OPTIONS" or request.blueprint in EXEMPT_BLUEPRINTS


def _count_refusal(limit_class: str) -> Callable[[RequestLimit], None]:
    """Flask-Limiter's ``on_breach`` for one class: the refusal, counted by class."""

    def on_breach(_limit: RequestLimit) -> None:
        count_rate_limit_refusal(limit_class)

    return on_breach


def _request_classes() -> tuple[LimitClass, ...]:
    """``limit_classes_for`` this request, worked out once: every class's provider asks."""
    return _once_per_request(
        "_ratelimit_classes", lambda: limit_classes_for(request.endpoint, request.method)
    )


@lru_cache(maxsize=64)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limits))


def _plan_windows(limit_class: LimitClass, limits: str) -> None:
    """Tell the storage which windows this request is about to hit (ratelimit_window.py), by
    the keys Flask-Limiter will hit them under: [prefix/]key/scope of each parsed limit."""
    if limit_class.exempt_when is not None and limit_class.exempt_when():
        return
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    identifiers = [prefix] if prefix else []
    identifiers += [limit_class.key(), limit_class.name]
    plan([PlannedHit(i.key_for(*identifiers), i.amount, i.get_expiry()) for i in _parsed(limits)])


def _class_limit(limit_class: LimitClass) -> Limit:
    def provider() -> str:
        # Read at request time, so each app's own config applies; "" means "not this class".
        if limit_class not in _request_classes():
            return ""
        limits = str(current_app.config[limit_class.setting])
        _plan_windows(limit_class, limits)
        return limits

    return Limit(
        provider,
        key_function=limit_class.key,
        scope=limit_class.name,
        shared=True,  # one budget per class, not per route
        exempt_when=limit_class.exempt_when,
        on_breach=_count_refusal(limit_class.name),
    )


def _route_default_limit() -> Limit:
    """``RATELIMIT_DEFAULT``: an optional extra limit on every counted route, per route."""
    return Limit(
        lambda: str(current_app.config.get("RATELIMIT_DEFAULT") or ""),
        key_function=rate_limit_key,
        per_method=True,
        on_breach=_count_refusal("default"),
    )


# Wiring -----------------------------------------------------------------------------------------


def fix_retry_after(response: Response) -> Response:
    """Flask-Limiter sends Retry-After on every response, though it only means something on a
    429 or a 503, and truncates it, so a 429 could say "retry after 0 seconds" (a client obeying
    that would only be refused again) and the 503's configured 5 became 4. Registered before
    the limiter's own hooks (``app/pipeline.py``), so it runs after them."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    elif response.status_code == 503 and "Retry-After" in response.headers:
        # app/errors.py's database-unavailable answer: the limiter rewrote its value as the
        # seconds left until its own window resets, truncated (5 became 4).
        response.headers["Retry-After"] = str(current_app.config["DB_UNAVAILABLE_RETRY_AFTER"])
    elif response.status_code == 429:
        value = response.headers.get("Retry-After", "0").strip()
        if value.lstrip("-").isdigit() and int(value) < 1:  # an HTTP date is left alone
            response.headers["Retry-After"] = "1"
    return response


def init_rate_limiting(app: Flask) -> Limiter:
    """This app's limiter with the class limits. Its storage comes from
    ``RATELIMIT_STORAGE_URI``: ``memory://``, or ``failover+redis://...``, which counts in
    Redis and degrades to per-process memory while Redis is unreachable."""
    limiter = Limiter(
        key_func=rate_limit_key,
        default_limits=[*(_class_limit(c) for c in LIMIT_CLASSES), _route_default_limit()],
        # One immediate retry when Redis dropped a pooled connection; none after a timeout, so a
        # hung Redis costs one socket timeout (REDIS_SOCKET_TIMEOUT), not several.
        storage_options={"retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))},
    )
    limiter.request_filter(is_exempt)
    limiter.init_app(app)
    app.extensions[EXTENSION_KEY] = limiter
    return limiter


def get_limiter(app: Flask) -> Limiter:
    """The limiter ``init_rate_limiting`` built for ``app``."""
    limiter: Limiter = app.extensions[EXTENSION_KEY]
    return limiter
