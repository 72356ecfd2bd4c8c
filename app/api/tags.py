"""Tags."""

from __future__ import annotations

from flask import Response, jsonify

from app.api import blp
from app.api.queries import tags_in_use
from app.api.schemas import TagListResponse


@blp.route("/tags", methods=["GET"])
@blp.response(200, TagListResponse)
def list_tags() -> Response:
    """Every tag in use, alphabetically"""
    return jsonify(tags=tags_in_use())  # a list of strings: no serialisation pass needed
