"""Which backups ``prune`` deletes: keep the newest backup of each of the last N days, weeks and
months that have one (UTC), the newest backup, and the newest verified backup."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.backups.manifest import Manifest


@dataclass(frozen=True)
class RetentionPolicy:
    daily: int
    weekly: int
    monthly: int


def _buckets(policy: RetentionPolicy) -> list[tuple[int, Callable[[datetime], Hashable]]]:
    return [
        (policy.daily, lambda moment: moment.date()),
        (policy.weekly, lambda moment: moment.isocalendar()[:2]),
        (policy.monthly, lambda moment: (moment.year, moment.month)),
    ]


def expired(backups: Sequence[Manifest], policy: RetentionPolicy) -> list[Manifest]:
    """The backups the policy does not keep, newest first."""
    ordered = sorted(backups, key=lambda backup: backup.created_at, reverse=True)
    keep: set[str] = set()
    if ordered:
        keep.add(ordered[0].name)
    newest_verified = next((backup for backup in ordered if backup.verified_at), None)
    if newest_verified:
        keep.add(newest_verified.name)
    for count, bucket_of in _buckets(policy):
        seen: set[Hashable] = set()
        for backup in ordered:
            bucket = bucket_of(backup.created_at)
            if bucket in seen:
                continue
            if len(seen) >= count:
                break
            seen.add(bucket)
            keep.add(backup.name)
    return [backup for backup in ordered if backup.name not in keep]
