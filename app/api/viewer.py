"""Who is asking: the authenticated user (or None on optional-auth routes)."""

from __future__ import annotations

from flask_jwt_extended import current_user

from app.models import User


def viewer() -> User | None:
    return current_user if current_user else None  # type: ignore[return-value]


def viewer_id() -> int | None:
    user = viewer()
    return user.id if user is not None else None
