"""Tags."""

from __future__ import annotations

from typing import Any

from app.api import blp
from app.api.queries import tags_in_use
from app.api.schemas import TagListResponse


@blp.route("/tags", methods=["GET"])
@blp.response(200, TagListResponse)
def list_tags() -> dict[str, Any]:
    """Every tag in use, alphabetically"""
    return {"tags": tags_in_use()}
