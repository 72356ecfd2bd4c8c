"""What a database holds, as far as a backup promises it: rows per table and schema revision."""

from __future__ import annotations

from dataclasses import dataclass

from app.backups.errors import BackupError
from app.backups.manifest import Manifest

MAX_LISTED_DIFFERENCES = 5


@dataclass(frozen=True)
class Contents:
    row_counts: dict[str, int]
    schema_revision: str | None


@dataclass(frozen=True)
class DumpInfo(Contents):
    """A finished dump: its contents as counted in the dump's own snapshot, and the versions."""

    tool_version: str
    server_version: str


def check_matches(manifest: Manifest, contents: Contents) -> None:
    """Refuse a restored copy whose revision or row counts differ from its manifest."""
    if contents.schema_revision != manifest.schema_revision:
        raise BackupError(
            f"backup {manifest.name} does not match its manifest: schema revision "
            f"{contents.schema_revision} restored, {manifest.schema_revision} in the manifest"
        )
    tables = sorted(set(manifest.row_counts) | set(contents.row_counts))
    differences = [
        f"{table}: {contents.row_counts.get(table, 'no')} rows restored, "
        f"{manifest.row_counts.get(table, 'no')} in the manifest"
        for table in tables
        if contents.row_counts.get(table) != manifest.row_counts.get(table)
    ]
    if differences:
        listed = "; ".join(differences[:MAX_LISTED_DIFFERENCES])
        more = len(differences) - MAX_LISTED_DIFFERENCES
        suffix = f"; and {more} more table(s)" if more > 0 else ""
        raise BackupError(f"backup {manifest.name} does not match its manifest: {listed}{suffix}")
