"""Account rules: registration, login and profile changes. No HTTP here beyond raising APIError."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from app.auth.sessions import revoke_user_sessions
from app.errors import Conflict, InvalidCredentials
from app.extensions import db
from app.models import User
from app.models.queries import find_user_by
from app.models.session import REVOKED_BY_PASSWORD_CHANGE
from app.observability.metrics import count_auth_failure
from app.security.passwords import hash_password, needs_rehash, verify_password


def _ensure_available(username: str | None, email: str | None, exclude_id: int | None) -> None:
    """Raise 409 for the first of username/email that another account already uses."""
    for field, column, value in (
        ("username", User.username, username),
        ("email", User.email, email),
    ):
        if value is None:
            continue
        owner = find_user_by(column, value)
        if owner is not None and owner.id != exclude_id:
            raise Conflict(field)


def _commit_unique(user: User) -> None:
    """Commit; a unique-index race lost to a concurrent request becomes the same 409."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _ensure_available(user.username, user.email, exclude_id=user.id)
        raise Conflict("username") from None


def register(username: str, email: str, password: str) -> User:
    _ensure_available(username, email, exclude_id=None)
    user = User(username=username, email=email, password_hash=hash_password(password))
    db.session.add(user)
    _commit_unique(user)
    return user


def authenticate(email: str, password: str) -> User:
    """The user for these credentials; unknown email and wrong password fail identically."""
    user = find_user_by(User.email, email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        count_auth_failure("invalid_credentials")
        raise InvalidCredentials()
    if needs_rehash(user.password_hash):  # cost settings were raised since this hash was made
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def update(user: User, changes: dict[str, Any], *, current_session: str | None = None) -> User:
    """Apply ``changes``; a new password also ends every session but ``current_session``, in the
    same transaction (a stolen token dies with the old password, the caller stays signed in)."""
    _ensure_available(changes.get("username"), changes.get("email"), exclude_id=user.id)
    if "password" in changes:
        new_hash = hash_password(changes["password"])  # slow: before the UPDATE takes locks
        # Before the attribute changes: this UPDATE autoflushes pending changes, and a unique
        # violation must surface in _commit_unique (409), not here (500).
        revoke_user_sessions(user.id, REVOKED_BY_PASSWORD_CHANGE, keep=current_session)
        user.password_hash = new_hash
    for field in ("username", "email", "bio", "image"):
        if field in changes:
            setattr(user, field, changes[field])
    _commit_unique(user)
    return user
