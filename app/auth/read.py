"""The account's own responses: ``{"user": {...}}`` as GET and PUT /api/user return it, and with
the session's ``refreshToken`` as registration, login and refresh do. The contract's field
order is kept; the fields come from the user row the request has already loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.auth.sessions import SessionTokens
from app.models import User


@dataclass(frozen=True)
class Account:
    """The user's own fields, read from the row before a commit expires it (no reload)."""

    email: str
    username: str
    bio: str | None
    image: str | None

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.email, user.username, user.bio, user.image)


def user_envelope(account: Account, token: str) -> dict[str, Any]:
    return {
        "user": {
            "email": account.email,
            "token": token,
            "username": account.username,
            "bio": account.bio,
            "image": account.image,
        }
    }


def session_envelope(account: Account, tokens: SessionTokens) -> dict[str, Any]:
    envelope = user_envelope(account, tokens.access)
    envelope["user"]["refreshToken"] = tokens.refresh
    return envelope
