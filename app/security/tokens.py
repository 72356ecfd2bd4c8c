"""JWTs: issuing access and refresh tokens, finding the current user (and checking the token's
session is still live), and mapping every token failure to the contract's 401 (the library's
default 422 for a malformed token never leaks through).

Both kinds of token carry ``sid``, the id of their row in ``auth_sessions``. The user lookup
below loads the user only through a live session, in one statement, so a logged-out, revoked
or expired session — or a deleted user — makes every token of it a 401 "is invalid", on every
worker and after any restart, for one query per authenticated request (the same one query the
user lookup always cost).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import Select, bindparam, select

from app.clock import utcnow
from app.errors import error_response
from app.extensions import db, jwt
from app.middleware import TOKEN_KEY
from app.models import AuthSession, User
from app.models.session import SESSION_ID_MAX
from app.observability.metrics import count_auth_failure
from app.security.signing_keys import signing_key, signing_key_headers, verification_key

SESSION_CLAIM = "sid"


def issue_access_token(user_id: int, session_id: str) -> str:
    """A signed access token for ``user_id`` (``sub``, a string) within session ``session_id``."""
    return create_access_token(identity=str(user_id), additional_claims={SESSION_CLAIM: session_id})


def issue_refresh_token(
    user_id: int, session_id: str, refresh_id: str, expires_at: datetime
) -> str:
    """A signed refresh token whose ``jti`` is ``refresh_id`` (the session's current one) and
    whose ``exp`` is the session's own expiry, so the token never outlives its session."""
    return create_refresh_token(
        identity=str(user_id),
        additional_claims={SESSION_CLAIM: session_id, "jti": refresh_id, "exp": expires_at},
    )


def presented_token() -> str | None:
    """The token of ``Authorization: Token <jwt>``, or None: parsed once per request, by
    ``app.middleware.RequestHeaders`` (flask-jwt-extended reads the header on its own)."""
    token: str | None = request.environ.get(TOKEN_KEY)
    return token


# Each refusal is counted by reason (conduit_auth_failures_total) before it is answered.
def _invalid(_reason: str | None = None, *_args: Any) -> Response:
    count_auth_failure("invalid_token")
    return error_response(401, {"token": ["is invalid"]})


def _missing(_reason: str | None = None) -> Response:
    count_auth_failure("missing_token")
    return error_response(401, {"token": ["is missing"]})


def _expired(_header: dict, _payload: dict) -> Response:
    count_auth_failure("expired_token")
    return error_response(401, {"token": ["has expired"]})


def _revoked(_header: dict, _payload: dict) -> Response:
    count_auth_failure("revoked_session")
    return error_response(401, {"token": ["is invalid"]})


def _no_live_session(_header: dict, payload: dict) -> Response:
    """The user lookup found no live session for a well-signed token. For the metrics only
    (one more statement, on refusals only), tell an ended session (logged out, revoked,
    expired) from a token that never named one of its user's sessions, or a deleted user."""
    if current_app.config["METRICS_ENABLED"]:
        ended = _names_an_ended_session(payload)
        count_auth_failure("revoked_session" if ended else "invalid_token")
    return error_response(401, {"token": ["is invalid"]})


def _names_an_ended_session(payload: dict) -> bool:
    session_id = payload.get(SESSION_CLAIM)
    try:
        user_id = int(payload["sub"])
    except (KeyError, TypeError, ValueError):
        return False
    if not isinstance(session_id, str) or not 0 < len(session_id) <= SESSION_ID_MAX:
        return False
    statement = select(AuthSession.id).where(
        AuthSession.id == session_id, AuthSession.user_id == user_id
    )
    return db.session.scalar(statement) is not None


@cache
def _user_of_live_session() -> Select[Any]:
    """users JOIN auth_sessions, both by primary key: the user, if the session is theirs, not
    revoked and not expired. Built once; the parameters are bound per request."""
    return (
        select(User)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(
            User.id == bindparam("user_id"),
            AuthSession.id == bindparam("session_id"),
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > bindparam("now"),
        )
    )


def _lookup_user(_header: dict, payload: dict) -> User | None:
    try:
        user_id = int(payload["sub"])
    except (KeyError, TypeError, ValueError):
        return None
    session_id = payload.get(SESSION_CLAIM)
    # Tokens from before sessions existed, or hand-made ones, carry no usable sid: refused.
    if not isinstance(session_id, str) or not 0 < len(session_id) <= SESSION_ID_MAX:
        return None
    user = db.session.scalar(
        _user_of_live_session(), {"user_id": user_id, "session_id": session_id, "now": utcnow()}
    )
    if user is not None:
        g.user_id = user.id  # for the request log line
    return user


def register_token_callbacks(app: Flask) -> None:
    """Sign and verify with the app's keys (rotation: ``signing_keys.py``), and route every
    flask-jwt-extended failure to a 401 in the contract's shape."""
    jwt.encode_key_loader(signing_key)
    jwt.additional_headers_loader(signing_key_headers)
    jwt.decode_key_loader(verification_key)
    jwt.unauthorized_loader(_missing)
    # Also the WrongTokenError of a refresh token on an access route (and the reverse).
    jwt.invalid_token_loader(_invalid)
    jwt.expired_token_loader(_expired)
    jwt.revoked_token_loader(_revoked)
    jwt.needs_fresh_token_loader(_invalid)
    jwt.token_verification_failed_loader(_invalid)
    # The user was deleted, or the token's session ended (logout, revocation, expiry).
    jwt.user_lookup_error_loader(_no_live_session)
    jwt.user_lookup_loader(_lookup_user)
