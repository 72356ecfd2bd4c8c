"""``flask backup create|list|verify|restore|prune``: the operator's side of ``app/backups``.

Results go to stdout (``create`` prints the new backup's name as its last line; ``list --json``
prints only a JSON array); progress, warnings and errors go to stderr. Every failure is one
line and a non-zero exit: 1 for an error or a refusal, 130 when interrupted (Ctrl-C, SIGTERM),
after the scratch database or temporary file was removed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import AppGroup

from app.backups import BackupError, Backups, Manifest, RetentionPolicy, backups_for
from app.backups.files import describe_os_error
from app.backups.interrupts import stoppable_by_signals
from app.backups.progress import human_size
from app.backups.service import describe
from app.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
INTERRUPTED = 130

backup_group = AppGroup(
    "backup", help="Back up, verify, restore and prune the database that DATABASE_URL names."
)


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


def _backups() -> Backups:
    return backups_for(current_app, db.engine.url, echo=_echo_err)


def operator_command(func: F) -> F:
    """One line on stderr and a non-zero exit for every failure; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with stoppable_by_signals() as held:
                result = func(*args, **kwargs)
                if held:
                    _echo_err("note: a stop signal arrived during the final step; it was finished")
                return result
        except BackupError as error:
            _echo_err(f"error: {error}")
            raise click.exceptions.Exit(1) from None
        except OSError as error:  # a file system problem no step anticipated
            _echo_err(f"error: {describe_os_error(error, error.filename or '')}")
            raise click.exceptions.Exit(1) from None
        except KeyboardInterrupt:
            _echo_err("error: interrupted; the scratch database and temporary files were removed")
            raise click.exceptions.Exit(INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


@backup_group.command("create")
@operator_command
def create_command() -> None:
    """Back up the database; print the new backup's name as the last line."""
    backups = _backups()
    manifest = backups.create()
    click.echo(
        f"backup of {backups.database} stored in {backups.storage}: {describe(manifest)}, "
        f"in {manifest.duration_seconds:.1f} s"
    )
    click.echo(manifest.name)


def _when(manifest: Manifest, field: str) -> str:
    value = getattr(manifest, field)
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@backup_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON array, newest first.")
@operator_command
def list_command(as_json: bool) -> None:
    """List backups, newest first."""
    backups = _backups()
    manifests = backups.list()
    if as_json:
        click.echo(json.dumps([manifest.as_dict() for manifest in manifests], indent=2))
        return
    if not manifests:
        _echo_err(f"no backups in {backups.storage}")
        return
    rows = [("NAME", "CREATED (UTC)", "DATABASE", "SIZE", "ROWS", "VERIFIED (UTC)", "REASON")]
    rows += [
        (
            m.name,
            _when(m, "created_at"),
            m.database,
            human_size(m.size),
            f"{m.total_rows:,}",
            _when(m, "verified_at"),
            m.reason,
        )
        for m in manifests
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@backup_group.command("verify")
@click.argument("name", required=False)
@click.option("--latest", is_flag=True, help="Verify the newest backup.")
@operator_command
def verify_command(name: str | None, latest: bool) -> None:
    """Check a backup: checksum, a real restore into a scratch database, row counts."""
    if bool(name) == latest:
        raise BackupError("give a backup NAME or --latest (one of the two)")
    backups = _backups()
    manifest = backups.find(name)
    manifest = backups.verify(manifest)
    tables = len(manifest.row_counts)
    click.echo(
        f"verified {manifest.name}: checksum ok, restored into a scratch database, "
        f"{manifest.total_rows:,} rows in {tables} tables match the manifest"
    )


@backup_group.command("restore")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Confirm: replace every row of the database.")
@operator_command
def restore_command(name: str, yes: bool) -> None:
    """Replace the database's contents with backup NAME (after a safety backup)."""
    backups = _backups()
    manifest = backups.find(name)
    if not yes:
        raise BackupError(
            f"restore replaces every row of {backups.database} with backup {manifest.name}; "
            "nothing was changed: run again with --yes"
        )
    safety = backups.restore(manifest)
    if safety:
        click.echo(f"safety backup of the replaced data: {safety.name}")
    click.echo(f"restored {manifest.name} into {backups.database}: {describe(manifest)}")


@backup_group.command("prune")
@click.option("--keep-daily", type=click.IntRange(min=0), help="[default: BACKUP_KEEP_DAILY]")
@click.option("--keep-weekly", type=click.IntRange(min=0), help="[default: BACKUP_KEEP_WEEKLY]")
@click.option("--keep-monthly", type=click.IntRange(min=0), help="[default: BACKUP_KEEP_MONTHLY]")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@operator_command
def prune_command(
    keep_daily: int | None, keep_weekly: int | None, keep_monthly: int | None, dry_run: bool
) -> None:
    """Delete old backups; never the newest one nor the newest verified one."""
    config = current_app.config
    policy = RetentionPolicy(
        daily=config["BACKUP_KEEP_DAILY"] if keep_daily is None else keep_daily,
        weekly=config["BACKUP_KEEP_WEEKLY"] if keep_weekly is None else keep_weekly,
        monthly=config["BACKUP_KEEP_MONTHLY"] if keep_monthly is None else keep_monthly,
    )
    backups = _backups()
    doomed = backups.prune(policy, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for manifest in doomed:
        click.echo(f"{verb} {manifest.name} (created {_when(manifest, 'created_at')} UTC)")
    click.echo(
        f"{verb} {len(doomed)} backup(s); keeping the newest of {policy.daily} day(s), "
        f"{policy.weekly} week(s) and {policy.monthly} month(s)"
    )
