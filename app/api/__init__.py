"""The ``api`` blueprint: the Conduit resources (profiles, articles, comments, tags)."""

from app.openapi import Blueprint

blp = Blueprint("api", __name__, url_prefix="/api", description="Conduit resources")

# Route modules attach their views to ``blp`` when imported.
from app.api import articles, comments, profiles, tags  # noqa: E402, F401

__all__ = ["blp"]
