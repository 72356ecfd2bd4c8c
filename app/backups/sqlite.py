"""SQLite backups through SQLite's online backup API: consistent while the service writes, and
restored into the live file in one write transaction (docs/adr/0002).

Replacing the file on disk is never done: processes that have it open would keep the old inode
and their ``-wal`` would later undo the restore (LIBRARY_NOTES_OPS §1).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from app.backups.contents import Contents, DumpInfo
from app.backups.errors import BackupError
from app.backups.files import temporary_directory
from app.backups.interrupts import point_of_no_return
from app.backups.manifest import Manifest
from app.backups.progress import Progress

SIDECARS = ("-journal", "-wal", "-shm")


def _describe(error: sqlite3.Error, path: Path) -> str:
    message = str(error)
    if "disk is full" in message or "disk I/O error" in message:
        return f"no space left on the device while writing {path} ({message})"
    return f"{message} ({path})"


def _contents(connection: sqlite3.Connection) -> Contents:
    tables = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\' ORDER BY name"
        )
    ]
    counts = {
        table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
        for table in tables
    }
    revision = None
    if "alembic_version" in counts:
        revision = connection.execute("SELECT min(version_num) FROM alembic_version").fetchone()[0]
    return Contents(counts, revision)


class SqliteDatabase:
    kind = "sqlite"
    suffix = ".sqlite3"

    def __init__(self, path: Path, busy_timeout: float = 15.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout

    def __str__(self) -> str:
        return f"SQLite database {self.path}"

    def exists(self) -> bool:
        return self.path.is_file()

    def dump(self, path: Path, progress: Progress) -> DumpInfo:
        """Copy the live database into ``path``, a single self-contained file.

        The copy is one backup step (``pages=-1``), a single read transaction: a consistent
        snapshot that does not block the service's writers (a stepwise copy restarts on every
        commit and may never finish).
        """
        if not self.exists():
            raise BackupError(f"{self} does not exist")
        try:
            with (
                closing(sqlite3.connect(self.path, timeout=self.busy_timeout)) as live,
                closing(sqlite3.connect(path)) as copy,
            ):
                live.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
                contents = _contents(copy)
        except sqlite3.Error as error:
            raise BackupError(_describe(error, path)) from None
        finally:
            for sidecar in SIDECARS:  # left behind when the copy failed half-way
                Path(f"{path}{sidecar}").unlink(missing_ok=True)
        progress.update(path.stat().st_size)
        return DumpInfo(
            contents.row_counts,
            contents.schema_revision,
            tool_version=f"Python sqlite3 backup API (SQLite {sqlite3.sqlite_version})",
            server_version=f"SQLite {sqlite3.sqlite_version}",
        )

    @contextmanager
    def restored_copy(self, path: Path, manifest: Manifest) -> Iterator[Contents]:
        with self._scratch_copy(path, manifest) as scratch:
            yield self._open_checked(scratch, manifest)

    def replace(self, path: Path, manifest: Manifest, check: Callable[[Contents], None]) -> None:
        """Copy the checked backup into the live file through the backup API: one write
        transaction, so the file holds the old data or all of the new, never a mix; the
        service's writers wait for it (busy timeout) and its readers see the new rows next."""
        with self._scratch_copy(path, manifest) as scratch:
            check(self._open_checked(scratch, manifest))
            try:
                with (
                    closing(sqlite3.connect(scratch)) as source,
                    closing(sqlite3.connect(self.path, timeout=self.busy_timeout)) as live,
                ):
                    point_of_no_return()
                    source.backup(live)
            except sqlite3.Error as error:
                raise BackupError(_describe(error, self.path)) from None

    @contextmanager
    def _scratch_copy(self, path: Path, manifest: Manifest) -> Iterator[Path]:
        """A temporary copy of the backup file, so checking it never writes to the backup."""
        with temporary_directory("conduit-restore-") as directory:
            scratch = directory / f"{manifest.name}.sqlite3"
            try:
                shutil.copyfile(path, scratch)
            except OSError as error:
                raise BackupError(f"cannot copy backup {manifest.name}: {error.strerror}") from None
            yield scratch

    @staticmethod
    def _open_checked(scratch: Path, manifest: Manifest) -> Contents:
        try:
            with closing(sqlite3.connect(f"file:{scratch}?mode=ro", uri=True)) as connection:
                result = connection.execute("PRAGMA integrity_check").fetchone()[0]
                if result != "ok":
                    raise BackupError(f"backup {manifest.name} is corrupt: {result}")
                return _contents(connection)
        except sqlite3.DatabaseError as error:
            message = f"backup {manifest.name} is not a valid SQLite database: {error}"
            raise BackupError(message) from None
