"""Login sessions: start one per login, rotate its refresh token, end one or all of them.

A session is a row in ``auth_sessions``; its tokens carry its id (``sid``) and are honoured only
while it is live (``app/security/tokens.py`` checks that on every request). Every state change
here is a single conditional UPDATE, so concurrent requests cannot both win a race, on SQLite
and on PostgreSQL alike. No HTTP here beyond raising ``Unauthorized``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update

from app.clock import utcnow
from app.errors import Unauthorized
from app.extensions import db
from app.models import AuthSession
from app.models.session import (
    REVOKED_BY_LOGOUT,
    REVOKED_BY_LOGOUT_ALL,
    REVOKED_BY_REFRESH_REUSE,
)
from app.observability.metrics import count_auth_failure
from app.security.tokens import issue_access_token, issue_refresh_token

log = logging.getLogger(__name__)

PRUNE_BATCH_SIZE = 1000  # rows per DELETE: short transactions, no long lock on a big table


@dataclass(frozen=True)
class SessionTokens:
    """The tokens handed to the client for one session."""

    access: str
    refresh: str


def _new_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits


def _refresh_lifetime() -> timedelta:
    lifetime: timedelta = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    return lifetime


def _tokens(user_id: int, session_id: str, refresh_id: str, expires_at: datetime) -> SessionTokens:
    return SessionTokens(
        access=issue_access_token(user_id, session_id),
        refresh=issue_refresh_token(user_id, session_id, refresh_id, expires_at),
    )


def start_session(user_id: int) -> SessionTokens:
    """A new session for ``user_id`` (committed) and its first pair of tokens."""
    now = utcnow()
    session_id, refresh_id, expires_at = _new_id(), _new_id(), now + _refresh_lifetime()
    db.session.add(
        AuthSession(
            id=session_id,
            user_id=user_id,
            refresh_id=refresh_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    db.session.commit()
    # Local values, not the committed object's attributes: those would be reloaded (a SELECT).
    return _tokens(user_id, session_id, refresh_id, expires_at)


def rotate_refresh_token(user_id: int, session_id: str, presented_refresh_id: str) -> SessionTokens:
    """Exchange the session's current refresh token for a new access token and a new refresh
    token; the presented one is spent.

    The exchange is one UPDATE conditional on the presented ``jti`` still being the current one,
    so of two concurrent refreshes with the same token exactly one changes the row. Any other
    outcome on a live session means a spent refresh token came back — stolen, or replayed by a
    client that lost the race — and every session of the user is revoked (reuse detection).
    """
    now = utcnow()
    refresh_id = _new_id()
    expires_at = now + _refresh_lifetime()
    rotated = db.session.execute(
        update(AuthSession)
        .where(
            AuthSession.id == session_id,
            AuthSession.user_id == user_id,
            AuthSession.refresh_id == presented_refresh_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .values(refresh_id=refresh_id, expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )
    if rotated.rowcount == 1:
        db.session.commit()
        return _tokens(user_id, session_id, refresh_id, expires_at)

    reused = db.session.scalar(
        select(AuthSession.id).where(
            AuthSession.id == session_id,
            AuthSession.refresh_id != presented_refresh_id,
            AuthSession.revoked_at.is_(None),
        )
    )
    if reused is not None:
        count_auth_failure("invalid_token")  # a spent refresh token
        count = revoke_user_sessions(user_id, REVOKED_BY_REFRESH_REUSE)
        db.session.commit()
        # Never the token itself: the user id and the count are enough to investigate.
        log.warning(
            "refresh token reuse detected: revoked %d session(s) of user %d", count, user_id
        )
    else:  # the session ended between the token check and the UPDATE (e.g. a logout)
        count_auth_failure("revoked_session")
        db.session.rollback()
    raise Unauthorized()


def revoke_session(session_id: str, reason: str = REVOKED_BY_LOGOUT) -> None:
    """End one session (committed); its access and refresh tokens are refused from now on."""
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def revoke_all_sessions(user_id: int) -> None:
    """End every session of ``user_id`` (committed): logout on every device."""
    revoke_user_sessions(user_id, REVOKED_BY_LOGOUT_ALL)
    db.session.commit()


def revoke_user_sessions(
    user_id: int, reason: str = REVOKED_BY_LOGOUT_ALL, *, keep: str | None = None
) -> int:
    """End every live session of ``user_id`` except ``keep``; the caller commits, so this can
    share a transaction with the change that caused it (a new password). Returns the count."""
    statement = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(AuthSession.id != keep)
    result = db.session.execute(
        statement.values(revoked_at=utcnow(), revoked_reason=reason).execution_options(
            synchronize_session=False
        )
    )
    return int(result.rowcount)


def prune_sessions(older_than: timedelta, batch_size: int = PRUNE_BATCH_SIZE) -> int:
    """Delete sessions that expired, or were revoked, more than ``older_than`` ago, in batches
    (each committed). Live sessions are never touched. Returns the number deleted."""
    cutoff = utcnow() - older_than
    dead = or_(AuthSession.expires_at < cutoff, AuthSession.revoked_at < cutoff)
    deleted = 0
    while True:
        ids = db.session.scalars(select(AuthSession.id).where(dead).limit(batch_size)).all()
        if not ids:
            return deleted
        db.session.execute(
            delete(AuthSession)
            .where(AuthSession.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        deleted += len(ids)
