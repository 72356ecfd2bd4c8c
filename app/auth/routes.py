"""HTTP routes for accounts (the contract's user endpoints) and their sessions (refresh, logout).

Login, registration and refresh return the user with a ``refreshToken``; GET and PUT /api/user
return the spec's five fields only. PUT answers with a new access token of the same session and
never rotates the refresh token, so a client that ignores PUT's token keeps a working session.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_jwt_extended import current_user, get_jwt

from app.auth import service, sessions
from app.auth.read import Account, session_envelope, user_envelope
from app.auth.schemas import (
    LoginRequest,
    RegisterRequest,
    SessionResponse,
    UpdateUserRequest,
    UserResponse,
)
from app.errors import Unauthorized
from app.links import AUTH_LINKS
from app.observability.metrics import count_auth_failure
from app.openapi import DATABASE_UNAVAILABLE, RATE_LIMITED, Blueprint
from app.security.tokens import SESSION_CLAIM, issue_access_token, presented_token

blp = Blueprint(
    "auth",
    __name__,
    url_prefix="/api",
    description="Users and authentication",
    shared_errors=(RATE_LIMITED, DATABASE_UNAVAILABLE),
    links=AUTH_LINKS,
)


def current_session_id() -> str:
    """The ``sid`` of the token that authenticated this request (checked by the user lookup)."""
    session_id: str = get_jwt()[SESSION_CLAIM]
    return session_id


@blp.route("/users", methods=["POST"])
@blp.arguments(RegisterRequest)
@blp.response(201, SessionResponse)
@blp.alt_response(409, description="Username or email already taken")
@blp.alt_response(422, description="Validation failed")
def register(body: dict[str, Any]) -> tuple[Response, int]:
    """Register a new user (and start a session)"""
    data = body["user"]
    user = service.register(data["username"], data["email"], data["password"])
    account = Account.of(user)
    return jsonify(session_envelope(account, sessions.start_session(user.id))), 201


@blp.route("/users/login", methods=["POST"])
@blp.arguments(LoginRequest)
@blp.response(200, SessionResponse)
@blp.alt_response(401, description="Invalid credentials")
def login(body: dict[str, Any]) -> Response:
    """Log in with email and password (starts a new session)"""
    data = body["user"]
    user = service.authenticate(data["email"], data["password"])
    account = Account.of(user)
    return jsonify(session_envelope(account, sessions.start_session(user.id)))


@blp.route("/user", methods=["GET"])
@blp.requires_token()
@blp.response(200, UserResponse)
def get_current_user() -> Response:
    """The authenticated user"""
    token = presented_token() or issue_access_token(current_user.id, current_session_id())
    return jsonify(user_envelope(Account.of(current_user), token))


@blp.route("/user", methods=["PUT"])
@blp.requires_token()
@blp.arguments(UpdateUserRequest)
@blp.response(200, UserResponse)
@blp.alt_response(409, description="Username or email already taken")
@blp.alt_response(422, description="Validation failed")
def update_current_user(body: dict[str, Any]) -> Response:
    """Update the authenticated user; a new password ends every other session"""
    session_id = current_session_id()
    user = service.update(current_user, body["user"], current_session=session_id)
    return jsonify(user_envelope(Account.of(user), issue_access_token(user.id, session_id)))


@blp.route("/auth/refresh", methods=["POST"])
@blp.requires_token(
    refresh=True,
    description="Missing, invalid or expired refresh token, an ended session, or a refresh "
    "token that was already used (which ends every session of the user)",
)
@blp.response(200, SessionResponse)
def refresh() -> Response:
    """Exchange a refresh token for a new access token and a new refresh token

    Send the refresh token (from login, registration or the previous refresh) as
    `Authorization: Token <refreshToken>`; an access token is refused here. Each refresh token
    works once: the one sent is spent, and sending a spent one again ends every session of the
    user (it was copied). The session's expiry moves forward with every refresh.
    """
    refresh_id = get_jwt().get("jti")
    if not isinstance(refresh_id, str):
        count_auth_failure("invalid_token")
        raise Unauthorized()
    account = Account.of(current_user)
    tokens = sessions.rotate_refresh_token(current_user.id, current_session_id(), refresh_id)
    return jsonify(session_envelope(account, tokens))


@blp.route("/auth/logout", methods=["POST"])
@blp.requires_token()
@blp.response(204)
def logout() -> None:
    """End this session

    Every access token and the refresh token of the session that issued this access token are
    refused from now on, on every worker and after restarts. Other sessions are untouched.
    """
    sessions.revoke_session(current_session_id())


@blp.route("/auth/logout-all", methods=["POST"])
@blp.requires_token()
@blp.response(204)
def logout_all() -> None:
    """End every session of the user

    Every access and refresh token of the user, on every device, is refused from now on.
    """
    sessions.revoke_all_sessions(current_user.id)
