"""The ``auth`` blueprint: registration, login and the current user."""

from app.auth.routes import blp

__all__ = ["blp"]
