"""Profiles and follows."""

from __future__ import annotations

from flask import Response, jsonify
from flask_jwt_extended import current_user

from app.api import read, write
from app.api.blueprint import blp
from app.api.schemas import ProfileResponse
from app.api.viewer import viewer_id
from app.errors import NotFound


def _profile(username: str, viewer: int | None) -> Response:
    """``{"profile": ...}`` as ``viewer`` sees it, from the read side."""
    profile = read.find_profile(username, viewer)
    if profile is None:
        raise NotFound("profile")
    return jsonify(profile=profile)


@blp.route("/profiles/<username>", methods=["GET"])
@blp.optional_token()
@blp.response(200, ProfileResponse)
@blp.alt_response(404, description="No such profile")
def get_profile(username: str) -> Response:
    """A user's public profile; ``following`` is relative to the caller"""
    return _profile(username, viewer_id())


@blp.route("/profiles/<username>/follow", methods=["POST"])
@blp.requires_token()
@blp.response(200, ProfileResponse)
@blp.alt_response(404, description="No such profile")
@blp.alt_response(422, description="Following yourself")
def follow_user(username: str) -> Response:
    """Follow a user (idempotent)"""
    return _profile(write.follow(current_user, username), current_user.id)


@blp.route("/profiles/<username>/follow", methods=["DELETE"])
@blp.requires_token()
@blp.response(200, ProfileResponse)
@blp.alt_response(404, description="No such profile")
def unfollow_user(username: str) -> Response:
    """Stop following a user (idempotent)"""
    return _profile(write.unfollow(current_user, username), current_user.id)
