"""Login sessions: the durable record that makes tokens revocable.

Every access and refresh token carries its session's id (the ``sid`` claim). A token is honoured
only while its session row exists, is not revoked and has not expired, and a refresh token only
while its ``jti`` is the session's ``refresh_id`` (rotation). The rows live in the database, not
in Redis, so a logout survives a flush or restart of Redis and of the service.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.extensions import db
from app.models.types import UTCDateTime

# Room for secrets.token_urlsafe(16) (22 characters) with margin for a longer id later.
SESSION_ID_MAX = 43

# Why a session ended (auth_sessions.revoked_reason): for operators reading the table.
REVOKED_BY_LOGOUT = "logout"
REVOKED_BY_LOGOUT_ALL = "logout_all"
REVOKED_BY_PASSWORD_CHANGE = "password_change"  # noqa: S105 - a label, not a password
REVOKED_BY_REFRESH_REUSE = "refresh_reuse"


class AuthSession(db.Model):
    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(SESSION_ID_MAX), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The jti of the one refresh token that may be used next; replaced on every refresh.
    refresh_id: Mapped[str] = mapped_column(String(SESSION_ID_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moves forward on every refresh (sliding): an idle session ends, a used one lives on.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        # logout-all, a password change and refresh-token reuse revoke by user.
        Index("ix_auth_sessions_user_id", "user_id"),
        # `flask sessions prune` finds the long-expired ones.
        Index("ix_auth_sessions_expires_at", "expires_at"),
    )

    def __repr__(self) -> str:
        return f"<AuthSession user={self.user_id} revoked={self.revoked_at is not None}>"
