"""HTTP routes for accounts, exactly as the contract's user endpoints."""

from __future__ import annotations

from typing import Any

from flask_jwt_extended import current_user, jwt_required

from app.auth import service
from app.auth.schemas import LoginRequest, RegisterRequest, UpdateUserRequest, UserResponse
from app.models import User
from app.openapi import TOKEN_AUTH, Blueprint
from app.security.tokens import issue_access_token, presented_token

blp = Blueprint("auth", __name__, url_prefix="/api", description="Users and authentication")


def user_envelope(user: User, token: str) -> dict[str, Any]:
    return {
        "user": {
            "email": user.email,
            "token": token,
            "username": user.username,
            "bio": user.bio,
            "image": user.image,
        }
    }


@blp.route("/users", methods=["POST"])
@blp.arguments(RegisterRequest)
@blp.response(201, UserResponse)
@blp.alt_response(409, description="Username or email already taken")
@blp.alt_response(422, description="Validation failed")
def register(body: dict[str, Any]) -> dict[str, Any]:
    """Register a new user"""
    data = body["user"]
    user = service.register(data["username"], data["email"], data["password"])
    return user_envelope(user, issue_access_token(user.id))


@blp.route("/users/login", methods=["POST"])
@blp.arguments(LoginRequest)
@blp.response(200, UserResponse)
@blp.alt_response(401, description="Invalid credentials")
def login(body: dict[str, Any]) -> dict[str, Any]:
    """Log in with email and password"""
    data = body["user"]
    user = service.authenticate(data["email"], data["password"])
    return user_envelope(user, issue_access_token(user.id))


@blp.route("/user", methods=["GET"])
@jwt_required()
@blp.response(200, UserResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.doc(security=TOKEN_AUTH)
def get_current_user() -> dict[str, Any]:
    """The authenticated user"""
    return user_envelope(current_user, presented_token() or issue_access_token(current_user.id))


@blp.route("/user", methods=["PUT"])
@jwt_required()
@blp.arguments(UpdateUserRequest)
@blp.response(200, UserResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(409, description="Username or email already taken")
@blp.alt_response(422, description="Validation failed")
@blp.doc(security=TOKEN_AUTH)
def update_current_user(body: dict[str, Any]) -> dict[str, Any]:
    """Update the authenticated user"""
    user = service.update(current_user, body["user"])
    return user_envelope(user, issue_access_token(user.id))
