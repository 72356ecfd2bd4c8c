"""Comments on articles."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_jwt_extended import current_user, jwt_required

from app.api import blp, service
from app.api.queries import comment_dict, list_comments, profile_dict
from app.api.schemas import CommentListResponse, CommentResponse, NewCommentRequest
from app.api.viewer import viewer_id
from app.errors import NotFound
from app.models import Comment
from app.openapi import OPTIONAL_TOKEN_AUTH, TOKEN_AUTH


@blp.route("/articles/<slug>/comments", methods=["GET"])
@jwt_required(optional=True)
@blp.response(200, CommentListResponse)
@blp.alt_response(404, description="No such article")
@blp.doc(security=OPTIONAL_TOKEN_AUTH)
def get_comments(slug: str) -> Response:
    """The article's comments, newest first"""
    comments = list_comments(slug, viewer_id())
    if comments is None:
        raise NotFound("article")
    return jsonify(comments=comments)


@blp.route("/articles/<slug>/comments", methods=["POST"])
@jwt_required()
@blp.arguments(NewCommentRequest)
@blp.response(201, CommentResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(404, description="No such article")
@blp.alt_response(422, description="Validation failed")
@blp.doc(security=TOKEN_AUTH)
def add_comment(body: dict[str, Any], slug: str) -> dict[str, Any]:
    """Comment on an article"""
    comment: Comment = service.add_comment(current_user, slug, body["comment"]["body"])
    return {"comment": comment_dict(comment, profile_dict(current_user, following=False))}


@blp.route("/articles/<slug>/comments/<comment_id>", methods=["DELETE"])
@jwt_required()
@blp.response(204)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(403, description="Not the comment's author")
@blp.alt_response(404, description="No such article or comment")
@blp.doc(security=TOKEN_AUTH)
def delete_comment(slug: str, comment_id: str) -> None:
    """Delete one of your comments"""
    service.delete_comment(current_user, slug, comment_id)
