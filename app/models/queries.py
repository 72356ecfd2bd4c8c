"""Small data-access helpers shared by the read and write sides (no HTTP here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models.user import User


def equal_ignoring_case(column: Any, value: Any) -> ColumnElement[bool]:
    """``lower(column) = lower(value)``: both sides folded by the database, exactly as the
    unique indexes on usernames and emails do (Python's str.lower() and SQLite's ASCII-only
    lower() disagree on non-ASCII capitals such as "É")."""
    return func.lower(column) == func.lower(value)


def find_user_by(column: Any, value: str) -> User | None:
    """The user whose ``column`` (username or email) matches ``value`` case-insensitively."""
    return db.session.scalar(select(User).where(equal_ignoring_case(column, value)))


def insert_ignoring_duplicates(table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT .. ON CONFLICT DO NOTHING: concurrent duplicates are absorbed, never a 500."""
    if not rows:
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(table).values(rows).on_conflict_do_nothing())
