"""``flask backup prune``: keep the newest backup of each of the last N days, weeks and months,
always the newest one and the newest verified one; ``--dry-run`` deletes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.backups.manifest import Manifest
from app.backups.retention import RetentionPolicy, expired
from tests.backups.conftest import created_name

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # a Monday


def made(days_ago: float, verified: bool = False) -> Manifest:
    created = NOW - timedelta(days=days_ago)
    name = f"{created:%Y%m%dT%H%M%SZ}-sqlite-000000"
    return Manifest(
        name=name,
        created_at=created,
        database="sqlite",
        file=f"{name}.sqlite3",
        size=1,
        sha256="0" * 64,
        schema_revision=None,
        row_counts={},
        tool_version="t",
        server_version="s",
        app_version="a",
        duration_seconds=0.0,
        verified_at=created + timedelta(minutes=5) if verified else None,
    )


def deleted_ages(backups: list[Manifest], **policy: int) -> list[float]:
    gone = expired(backups, RetentionPolicy(**{"daily": 0, "weekly": 0, "monthly": 0, **policy}))
    return sorted((NOW - backup.created_at) / timedelta(days=1) for backup in gone)


# --- the policy -----------------------------------------------------------------------------


def test_daily_keeps_the_newest_backup_of_each_of_the_last_n_days():
    backups = [made(age) for age in (0, 0.1, 1, 1.1, 2, 3)]

    assert deleted_ages(backups, daily=2) == [0.1, 1.1, 2, 3]


def test_weekly_keeps_the_newest_backup_of_each_of_the_last_n_weeks():
    backups = [
        made(age) for age in (0, 1, 7, 8, 14, 21)
    ]  # NOW is a Monday: ages 1 and 8 are Sundays

    assert deleted_ages(backups, weekly=3) == [7, 14, 21]


def test_monthly_keeps_the_newest_backup_of_each_of_the_last_n_months():
    backups = [made(age) for age in (0, 10, 31, 40, 61, 92)]

    assert deleted_ages(backups, monthly=3) == [10, 40, 92]


def test_the_windows_add_up():
    backups = [made(age) for age in range(0, 400, 1)]

    kept = len(backups) - len(deleted_ages(backups, daily=7, weekly=4, monthly=12))

    assert 7 + 1 <= kept <= 7 + 4 + 12


def test_the_newest_verified_backup_is_never_deleted():
    backups = [made(0), made(1), made(300, verified=True), made(301, verified=True)]

    assert deleted_ages(backups, daily=1) == [1, 301]


def test_the_newest_backup_is_never_deleted_even_when_everything_is_zero():
    assert deleted_ages([made(5), made(6)]) == [6]


def test_no_backups_nothing_to_delete():
    assert expired([], RetentionPolicy(7, 4, 12)) == []


# --- the command ----------------------------------------------------------------------------


def age(backup_dir, name: str, days: float) -> None:
    path = backup_dir / f"{name}.json"
    manifest = json.loads(path.read_text())
    created = datetime.now(UTC) - timedelta(days=days)
    manifest["created_at"] = created.isoformat().replace("+00:00", "Z")
    path.write_text(json.dumps(manifest))


@pytest.fixture
def three_days(backup, backup_dir) -> list[str]:
    """Backups made today, 3 days ago and 10 days ago (newest first)."""
    names = [created_name(backup("create")) for _ in range(3)]
    for name, days in zip(names, (10, 3, 0), strict=True):
        age(backup_dir, name, days)
    return names[::-1]


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_prune_deletes_what_the_policy_does_not_keep(backup, backup_dir, three_days):
    today, _, ten_days_ago = three_days

    result = backup("prune", "--keep-daily", "2", "--keep-weekly", "0", "--keep-monthly", "0")

    assert result.exit_code == 0, result.output
    assert f"deleted {ten_days_ago}" in result.stdout
    remaining = [e["name"] for e in json.loads(backup("list", "--json").stdout)]
    assert remaining == three_days[:2]
    assert not list(backup_dir.glob(f"{ten_days_ago}.*"))
    assert today in remaining


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_prune_dry_run_lists_what_would_go_and_deletes_nothing(backup, three_days):
    result = backup(
        "prune", "--dry-run", "--keep-daily", "1", "--keep-weekly", "0", "--keep-monthly", "0"
    )

    assert result.exit_code == 0, result.output
    assert [line.split()[2] for line in result.stdout.splitlines()[:-1]] == three_days[1:]
    assert "would delete 2 backup(s)" in result.stdout
    assert len(json.loads(backup("list", "--json").stdout)) == 3


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_prune_takes_its_defaults_from_the_environment(service_app, backup, three_days):
    runner = service_app(
        BACKUP_KEEP_DAILY="1", BACKUP_KEEP_WEEKLY="0", BACKUP_KEEP_MONTHLY="0"
    ).test_cli_runner()

    result = runner.invoke(args=["backup", "prune"])

    assert result.exit_code == 0, result.output
    assert "deleted 2 backup(s)" in result.stdout


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_prune_keeps_the_newest_verified_backup(backup, backup_dir, three_days):
    oldest = three_days[-1]
    assert backup("verify", oldest).exit_code == 0
    age(backup_dir, oldest, 10)  # verify rewrote the manifest; keep it old

    result = backup("prune", "--keep-daily", "1", "--keep-weekly", "0", "--keep-monthly", "0")

    assert result.exit_code == 0, result.output
    remaining = [e["name"] for e in json.loads(backup("list", "--json").stdout)]
    assert remaining == [three_days[0], oldest]


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_prune_refuses_a_negative_count(backup):
    result = backup("prune", "--keep-daily", "-1")

    assert result.exit_code == 2
    assert "-1" in result.output
