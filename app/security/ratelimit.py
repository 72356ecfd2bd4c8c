"""Rate-limit keys: per authenticated user, else per client IP. Never raises."""

from __future__ import annotations

from flask import request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request


def rate_limit_key() -> str:
    """``user:<id>`` for a valid token, else ``ip:<address>``.

    Flask-Limiter treats any exception here as a storage failure, so every token problem
    (expired, malformed, revoked) falls back to the IP key; the route still answers 401.
    """
    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
    except Exception:
        identity = None
    if identity:
        return f"user:{identity}"
    return f"ip:{request.remote_addr or 'unknown'}"
