"""Comments on articles."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_jwt_extended import current_user

from app.api import read, write
from app.api.blueprint import blp
from app.api.schemas import CommentListResponse, CommentResponse, NewCommentRequest
from app.api.viewer import viewer_id
from app.errors import NotFound


@blp.route("/articles/<slug>/comments", methods=["GET"])
@blp.optional_token()
@blp.response(200, CommentListResponse)
@blp.alt_response(404, description="No such article")
def get_comments(slug: str) -> Response:
    """The article's comments, newest first"""
    comments = read.list_comments(slug, viewer_id())
    if comments is None:
        raise NotFound("article")
    return jsonify(comments=comments)


@blp.route("/articles/<slug>/comments", methods=["POST"])
@blp.requires_token()
@blp.arguments(NewCommentRequest)
@blp.response(201, CommentResponse)
@blp.alt_response(404, description="No such article")
@blp.alt_response(422, description="Validation failed")
def add_comment(body: dict[str, Any], slug: str) -> tuple[Response, int]:
    """Comment on an article"""
    comment_id = write.add_comment(current_user, slug, body["comment"]["body"])
    return jsonify(comment=read.find_comment(comment_id, current_user.id)), 201


@blp.route("/articles/<slug>/comments/<comment_id>", methods=["DELETE"])
@blp.requires_token()
@blp.response(204)
@blp.alt_response(403, description="Not the comment's author")
@blp.alt_response(404, description="No such article or comment")
def delete_comment(slug: str, comment_id: str) -> None:
    """Delete one of your comments"""
    write.delete_comment(current_user, slug, comment_id)
