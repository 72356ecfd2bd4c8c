"""The one source of "now", so tests can control time in a single place."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(UTC)


def isoformat_ms(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2026-11-25T10:00:00.000Z`` (the contract's format)."""
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; they are stored as UTC
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
