"""Who is asking: the authenticated user (or None on optional-auth routes)."""

from __future__ import annotations

from flask import g
from flask_jwt_extended import current_user

from app.models import User


def viewer() -> User | None:
    return current_user if current_user else None  # type: ignore[return-value]


def viewer_id() -> int | None:
    """The caller's id, as the token's user lookup recorded it (app/security/tokens.py): after
    a write's commit, ``current_user.id`` would load the expired user row again."""
    return g.get("user_id") if current_user else None
