"""The ``api`` blueprint: the Conduit resources (profiles, articles, comments, tags)."""

from app.openapi import Blueprint

blp = Blueprint("api", __name__, url_prefix="/api", description="Conduit resources")

__all__ = ["blp"]
