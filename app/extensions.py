"""The extensions, unbound: ``create_app`` binds them to each app it builds.

Only third-party objects live here, so every layer of the app may import this module; the JWT
manager is flask-jwt-extended's, with a cache of verified tokens (below), which imports nothing
of the app either. Flask-Limiter, Flask-Talisman and the OpenAPI ``Api`` are built per app
instead (``app/pipeline.py``, ``app/openapi.py``): they keep their settings on the instance, and
the tests build apps with different settings in one process. ``talisman`` here only provides the
per-view decorator (``@talisman(content_security_policy=...)``), which tags the view and reads
no settings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any

from flask import current_app, has_app_context
from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every model (SQLAlchemy 2.0 typed style)."""


# Verify a token's signature once per process, not on every request that presents it ----------
# flask-jwt-extended decodes the token on every authenticated request, and the rate limiter
# decodes it once more for its key: two full PyJWT decodes (signature, claims, and a scan of
# every character of every segment) for the same bytes, again on the client's next request.
# ``CachingJWTManager`` keeps what a successful decode returned, keyed by the token's exact
# bytes and by every setting that decoding depends on (keys, algorithms, audience, issuer,
# leeway), so a rotated key or a changed setting never meets an old entry.
#
# What stays per request: the expiry and not-before claims are checked against the clock on
# every hit (an expired token falls through to the full decode, which refuses it the usual
# way), and the token's session is still looked up on every request (``tokens.py``), so
# revocation is unchanged. Only successful decodes are kept, so a forged token is never cached
# and cannot crowd out a real one. The cache is bounded (oldest entry out first), so a worker's
# memory stays flat however many tokens it sees.

MAX_ENTRIES = 1024  # tokens in use at once per worker; a claims dict is well under 1 KB

# Everything flask-jwt-extended's decode reads from the config (flask_jwt_extended.config),
# plus the keys our decode_key_loader chooses between (signing_keys.py).
DECODE_SETTINGS = (
    "JWT_SECRET_KEY",
    "JWT_SECRET_KEY_PREVIOUS",
    "SECRET_KEY",
    "JWT_DECODE_ALGORITHMS",
    "JWT_ALGORITHM",
    "JWT_DECODE_AUDIENCE",
    "JWT_DECODE_ISSUER",
    "JWT_DECODE_LEEWAY",
    "JWT_IDENTITY_CLAIM",
    "JWT_VERIFY_SUB",
)


class VerifiedTokenCache:
    """Claims of tokens that decoded successfully, bounded, safe to share between threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[Hashable, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, leeway: float, allow_expired: bool) -> dict[str, Any] | None:
        """A copy of the claims kept under ``key`` if they are still in their validity
        period (``exp``, ``nbf``, with ``leeway``); otherwise None (and the entry is dropped)."""
        claims = self._entries.get(key)
        if claims is None:
            return None
        now = time.time()
        expired = not allow_expired and "exp" in claims and now > claims["exp"] + leeway
        if expired or ("nbf" in claims and now < claims["nbf"] - leeway):
            self._entries.pop(key, None)
            return None
        return dict(claims)  # callers may add claims to what they get

    def put(self, key: Hashable, claims: dict[str, Any]) -> None:
        with self._lock:
            while len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = dict(claims)


def _leeway(value: Any) -> float:
    # JWT_DECODE_LEEWAY may be seconds or a timedelta, as PyJWT accepts both.
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value or 0)


class CachingJWTManager(JWTManager):
    """``JWTManager`` whose decode answers from ``VerifiedTokenCache`` when it can.

    The override point is the one method both ``decode_token`` (the limiter's key) and
    ``verify_jwt_in_request`` (the views) go through; ``tests/test_token_cache.py`` pins it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.verified_tokens = VerifiedTokenCache()

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False
    ) -> dict:
        if not has_app_context():
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        config = current_app.config
        settings = tuple(_hashable(config.get(name)) for name in DECODE_SETTINGS)
        key = (encoded_token, csrf_value, allow_expired, settings)
        leeway = _leeway(config.get("JWT_DECODE_LEEWAY"))
        claims = self.verified_tokens.get(key, leeway, allow_expired)
        if claims is not None:
            return claims
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        self.verified_tokens.put(key, claims)
        return claims


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list | set | tuple):
        return tuple(_hashable(item) for item in value)
    return value if isinstance(value, Hashable) else repr(value)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = CachingJWTManager()  # flask-jwt-extended's, verifying each token once per process
cors = CORS()
talisman = Talisman()
