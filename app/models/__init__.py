"""Typed SQLAlchemy 2.0 models. No HTTP here."""

from app.models.user import User

__all__ = ["User"]
