"""JWT access tokens: issuing them, finding the current user, and mapping every token failure
to the contract's 401 (the library's default 422 for a malformed token never leaks through)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, request
from flask_jwt_extended import create_access_token

from app.errors import error_response
from app.extensions import db, jwt


def issue_access_token(user_id: int) -> str:
    """A signed access token whose ``sub`` is the user id as a string."""
    return create_access_token(identity=str(user_id))


def presented_token() -> str | None:
    """The raw token the client sent in ``Authorization``, if any."""
    parts = request.headers.get("Authorization", "").split()
    return parts[1] if len(parts) == 2 else None


def _invalid(_reason: str | None = None, *_args: Any) -> Response:
    return error_response(401, {"token": ["is invalid"]})


def _missing(_reason: str | None = None) -> Response:
    return error_response(401, {"token": ["is missing"]})


def _expired(_header: dict, _payload: dict) -> Response:
    return error_response(401, {"token": ["has expired"]})


def _lookup_user(_header: dict, payload: dict) -> Any:
    from app.models import User

    try:
        user_id = int(payload["sub"])
    except (KeyError, TypeError, ValueError):
        return None
    user = db.session.get(User, user_id)
    if user is not None:
        g.user_id = user.id  # for the request log line
    return user


def register_token_callbacks(app: Flask) -> None:
    """Route every flask-jwt-extended failure to a 401 in the contract's shape."""
    jwt.unauthorized_loader(_missing)
    jwt.invalid_token_loader(_invalid)
    jwt.expired_token_loader(_expired)
    jwt.revoked_token_loader(_invalid)
    jwt.needs_fresh_token_loader(_invalid)
    jwt.token_verification_failed_loader(_invalid)
    jwt.user_lookup_error_loader(_invalid)  # the user was deleted after the token was issued
    jwt.user_lookup_loader(_lookup_user)
