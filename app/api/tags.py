"""Tags."""

from __future__ import annotations

from flask import Response, jsonify

from app.api import read
from app.api.blueprint import blp
from app.api.schemas import TagListResponse


@blp.route("/tags", methods=["GET"])
@blp.response(200, TagListResponse)
def list_tags() -> Response:
    """Every tag in use, alphabetically"""
    return jsonify(tags=read.tags_in_use())
