"""JWT signing keys and their rotation: tokens are signed with ``JWT_SECRET_KEY`` only, and
verified with it or — during a rotation's grace period — with ``JWT_SECRET_KEY_PREVIOUS``.

Every new token names its key in the ``kid`` header: a short hash of the key, never the key.
Verification picks the previous key only for a token whose ``kid`` is the previous key's id;
any other token (no ``kid``, an unknown one, a forged one) is checked against the current key,
so a token claiming some key's id still needs that key's signature. The key only chooses the
secret: the algorithm stays pinned by ``JWT_DECODE_ALGORITHMS`` (HS256). Whichever key
verified it, a token is still honoured only through its live session (``tokens.py``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app

KEY_ID_HEADER = "kid"
KEY_ID_LENGTH = 16  # hex characters: 64 bits, enough to tell a handful of keys apart


def key_id(secret: str) -> str:
    """The public id of ``secret``: the first 16 hex characters of its SHA-256. It reveals
    nothing a token's HMAC does not already: both let an attacker test guesses of the key, and
    a production key is 32+ random bytes (``config.ProductionConfig.validate``)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:KEY_ID_LENGTH]


def current_key() -> str:
    """The key new tokens are signed with. Like flask-jwt-extended itself, fall back to
    ``SECRET_KEY`` when ``JWT_SECRET_KEY`` is empty, and never sign with an empty key."""
    key: str = current_app.config["JWT_SECRET_KEY"] or current_app.config.get("SECRET_KEY") or ""
    if not key:
        raise RuntimeError("JWT_SECRET_KEY is not set: tokens cannot be signed")
    return key


def signing_key(_identity: Any) -> str:
    """``encode_key_loader``: always the current key."""
    return current_key()


def signing_key_headers(_identity: Any) -> dict[str, str]:
    """``additional_headers_loader``: the current key's id, so a rotated service knows which
    of its keys signed the token."""
    return {KEY_ID_HEADER: key_id(current_key())}


def verification_key(header: dict[str, Any], _payload: dict[str, Any]) -> str:
    """``decode_key_loader``: the previous key for a token that names it, else the current one."""
    previous: str = current_app.config.get("JWT_SECRET_KEY_PREVIOUS") or ""
    kid = header.get(KEY_ID_HEADER)
    if previous and isinstance(kid, str) and kid == key_id(previous):
        return previous
    return current_key()
