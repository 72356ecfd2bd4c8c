"""The backup operations: create, list, verify, restore and prune, on one database and one
storage. Human progress goes to ``echo`` (stderr in the CLI); results are returned."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.backups.contents import Contents, DumpInfo, check_matches
from app.backups.errors import BackupError
from app.backups.files import describe_os_error, sha256_of
from app.backups.manifest import Manifest, new_name
from app.backups.progress import Progress, human_size
from app.backups.retention import RetentionPolicy, expired
from app.backups.storage import Storage
from app.clock import utcnow
from app.schema import known_revisions, migration_head


class Database(Protocol):
    """A database the backups can dump, restore into a scratch copy, and replace."""

    kind: str
    suffix: str

    def exists(self) -> bool: ...

    def dump(self, path: Path, progress: Progress) -> DumpInfo: ...

    def restored_copy(self, path: Path, manifest: Manifest) -> AbstractContextManager[Contents]: ...

    def replace(
        self, path: Path, manifest: Manifest, check: Callable[[Contents], None]
    ) -> None: ...


@dataclass
class Backups:
    database: Database
    storage: Storage
    app_version: str
    echo: Callable[[str], None] = lambda _line: None

    # --- create -----------------------------------------------------------------------------

    def create(self, reason: str = "manual") -> Manifest:
        """Dump the database into a new backup; return its manifest once it is stored."""
        started = time.monotonic()
        created_at = utcnow()
        name = new_name(self.database.kind, created_at)
        filename = f"{name}{self.database.suffix}"
        self.storage.prepare()
        with self.storage.staging(filename) as staged:
            progress = Progress(f"dumping {self.database}")
            try:
                info = self.database.dump(staged, progress)
                progress.finish()
                sha256, size = sha256_of(staged)
            except OSError as error:
                raise BackupError(describe_os_error(error, staged)) from None
            manifest = Manifest(
                name=name,
                created_at=created_at,
                database=self.database.kind,
                file=filename,
                size=size,
                sha256=sha256,
                schema_revision=info.schema_revision,
                row_counts=info.row_counts,
                tool_version=info.tool_version,
                server_version=info.server_version,
                app_version=self.app_version,
                duration_seconds=round(time.monotonic() - started, 3),
                reason=reason,
            )
            self.storage.store(staged, manifest)
        return manifest

    # --- list and find ----------------------------------------------------------------------

    def list(self) -> list[Manifest]:
        """Every backup in the storage, newest first; unreadable manifests are reported."""
        manifests, problems = self.storage.manifests()
        for problem in problems:
            self.echo(f"warning: skipped {problem}")
        return sorted(manifests, key=lambda manifest: manifest.created_at, reverse=True)

    def find(self, name: str | None) -> Manifest:
        """Backup ``name``, or the newest one when ``name`` is None."""
        if name is not None:
            return self.storage.manifest(name)
        backups = self.list()
        if not backups:
            raise BackupError(f"there are no backups in {self.storage}")
        return backups[0]

    # --- verify -----------------------------------------------------------------------------

    def verify(self, manifest: Manifest) -> Manifest:
        """Checksum, then a real restore into a scratch database whose contents must match the
        manifest. Records ``verified_at`` in the manifest."""
        self._check_kind(manifest)
        with self.storage.fetched(manifest) as path:
            self._check_file(manifest, path)
            self.echo(f"checksum ok; restoring {manifest.name} into a scratch database")
            with self.database.restored_copy(path, manifest) as contents:
                check_matches(manifest, contents)
        manifest.verified_at = utcnow()
        self.storage.save_manifest(manifest)
        return manifest

    # --- restore ----------------------------------------------------------------------------

    def restore(self, manifest: Manifest) -> Manifest | None:
        """Replace the database's contents with ``manifest``'s backup, after a safety backup
        of what it replaces (returned; None when there was no database to replace)."""
        self._check_kind(manifest)
        revision = manifest.schema_revision
        if revision is not None and revision not in known_revisions():
            raise BackupError(
                f"backup {manifest.name} is at schema revision {revision}, which this code's "
                f"migrations do not know (head {migration_head()}): it was made by a newer "
                "release; deploy that release before restoring it"
            )
        with self.storage.fetched(manifest) as path:
            self._check_file(manifest, path)
            safety = None
            if self.database.exists():
                safety = self.create(reason="pre-restore")
            self.echo(f"restoring {manifest.name} into {self.database}")
            self.database.replace(
                path, manifest, lambda contents: check_matches(manifest, contents)
            )
        if revision != migration_head():
            self.echo(
                f"warning: the restored schema is at revision {revision}, the code's head is "
                f"{migration_head()}: run `flask --app wsgi db upgrade`"
            )
        return safety

    # --- prune ------------------------------------------------------------------------------

    def prune(self, policy: RetentionPolicy, dry_run: bool = False) -> list[Manifest]:
        """Delete (or with ``dry_run`` only name) the backups the policy does not keep."""
        doomed = expired(self.list(), policy)
        if not dry_run:
            for manifest in doomed:
                self.storage.delete(manifest)
        return doomed

    # --- checks -----------------------------------------------------------------------------

    def _check_kind(self, manifest: Manifest) -> None:
        if manifest.database != self.database.kind:
            raise BackupError(
                f"backup {manifest.name} is a {manifest.database} backup, but DATABASE_URL "
                f"names a {self.database.kind} database"
            )

    def _check_file(self, manifest: Manifest, path: Path) -> None:
        progress = Progress(f"checking {manifest.name}", total=manifest.size)
        try:
            sha256, size = sha256_of(path, progress.update)
        except OSError as error:
            raise BackupError(f"backup {manifest.name}: {describe_os_error(error, path)}") from None
        progress.finish()
        if size != manifest.size:
            raise BackupError(
                f"backup {manifest.name} is truncated or was changed: its file has {size} bytes, "
                f"its manifest says {manifest.size}"
            )
        if sha256 != manifest.sha256:
            raise BackupError(
                f"backup {manifest.name} failed its checksum (sha256 {sha256[:12]}..., the "
                f"manifest says {manifest.sha256[:12]}...): the file is corrupt or was changed"
            )


def describe(manifest: Manifest) -> str:
    tables = len(manifest.row_counts)
    return (
        f"{human_size(manifest.size)}, {manifest.total_rows:,} rows in {tables} tables, "
        f"schema {manifest.schema_revision}, sha256 {manifest.sha256[:12]}..."
    )
