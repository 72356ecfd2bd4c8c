"""Profiles and follows."""

from __future__ import annotations

from typing import Any

from flask_jwt_extended import current_user, jwt_required

from app.api import blp, service
from app.api.queries import find_profile, profile_dict
from app.api.schemas import ProfileResponse
from app.api.viewer import viewer_id
from app.errors import NotFound
from app.openapi import OPTIONAL_TOKEN_AUTH, TOKEN_AUTH


@blp.route("/profiles/<username>", methods=["GET"])
@jwt_required(optional=True)
@blp.response(200, ProfileResponse)
@blp.alt_response(404, description="No such profile")
@blp.doc(security=OPTIONAL_TOKEN_AUTH)
def get_profile(username: str) -> dict[str, Any]:
    """A user's public profile; ``following`` is relative to the caller"""
    profile = find_profile(username, viewer_id())
    if profile is None:
        raise NotFound("profile")
    return {"profile": profile}


@blp.route("/profiles/<username>/follow", methods=["POST"])
@jwt_required()
@blp.response(200, ProfileResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(404, description="No such profile")
@blp.alt_response(422, description="Following yourself")
@blp.doc(security=TOKEN_AUTH)
def follow_user(username: str) -> dict[str, Any]:
    """Follow a user (idempotent)"""
    return {"profile": profile_dict(service.follow(current_user, username), True)}


@blp.route("/profiles/<username>/follow", methods=["DELETE"])
@jwt_required()
@blp.response(200, ProfileResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(404, description="No such profile")
@blp.doc(security=TOKEN_AUTH)
def unfollow_user(username: str) -> dict[str, Any]:
    """Stop following a user (idempotent)"""
    return {"profile": profile_dict(service.unfollow(current_user, username), False)}
