"""Where backups live: a local directory (this module) or an S3 bucket (``s3.py``).

Both store a backup as two objects, ``<name><suffix>`` and ``<name>.json``, the manifest last:
a backup without its manifest is not a backup (a crash between the two leaves only a file that
``list`` ignores). There is no index: listing reads the manifests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from app.backups.errors import BackupError
from app.backups.files import (
    PRIVATE_DIRECTORY,
    create_private,
    describe_os_error,
    partial_path,
    publish,
    write_atomically,
)
from app.backups.manifest import MANIFEST_SUFFIX, Manifest, check_name


class Storage(Protocol):
    """What the backup service needs of a place to keep backups."""

    def prepare(self) -> None:
        """Fail fast, before any dump, if backups cannot be stored here."""

    def staging(self, filename: str) -> AbstractContextManager[Path]:
        """A private path to write a new backup file into; removed afterwards if still there."""

    def store(self, staged: Path, manifest: Manifest) -> None:
        """Publish the staged file under its final name, then its manifest."""

    def manifests(self) -> tuple[list[Manifest], list[str]]:
        """Every readable manifest, and a one-line problem for each unreadable one."""

    def manifest(self, name: str) -> Manifest:
        """The manifest of backup ``name``; ``BackupError`` if there is none."""

    def save_manifest(self, manifest: Manifest) -> None:
        """Replace the stored manifest (``verified_at``), atomically."""

    def fetched(self, manifest: Manifest) -> AbstractContextManager[Path]:
        """A local path of the backup's file for as long as the block runs."""

    def delete(self, manifest: Manifest) -> None:
        """Remove the manifest first, then the file: a backup half-deleted is not listed."""


class LocalStorage:
    """A directory on this host (``BACKUP_DIR``); new files are renamed into it after fsync."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __str__(self) -> str:
        return str(self.directory)

    def prepare(self) -> None:
        try:
            self.directory.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
        except OSError as error:
            raise BackupError(describe_os_error(error, self.directory)) from None

    @contextmanager
    def staging(self, filename: str) -> Iterator[Path]:
        # In the backup directory itself: the final rename must not cross file systems.
        staged = partial_path(self.directory / filename)
        try:
            create_private(staged)
            yield staged
        finally:
            staged.unlink(missing_ok=True)

    def store(self, staged: Path, manifest: Manifest) -> None:
        publish(staged, self.directory / manifest.file)
        write_atomically(self._manifest_path(manifest.name), manifest.to_json().encode())

    def manifests(self) -> tuple[list[Manifest], list[str]]:
        found: list[Manifest] = []
        problems: list[str] = []
        if not self.directory.is_dir():
            return found, problems
        for path in sorted(self.directory.glob(f"*{MANIFEST_SUFFIX}")):
            if path.name.startswith("."):
                continue
            try:
                found.append(Manifest.from_json(path.read_bytes(), str(path)))
            except (BackupError, OSError) as error:
                problems.append(str(error))
        return found, problems

    def manifest(self, name: str) -> Manifest:
        path = self._manifest_path(check_name(name))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BackupError(f"no backup named {name} in {self}") from None
        except OSError as error:
            raise BackupError(describe_os_error(error, path)) from None
        return Manifest.from_json(data, str(path))

    def save_manifest(self, manifest: Manifest) -> None:
        write_atomically(self._manifest_path(manifest.name), manifest.to_json().encode())

    @contextmanager
    def fetched(self, manifest: Manifest) -> Iterator[Path]:
        path = self.directory / manifest.file
        if not path.is_file():
            raise BackupError(f"backup {manifest.name} has no file: {path} is missing")
        yield path

    def delete(self, manifest: Manifest) -> None:
        try:
            self._manifest_path(manifest.name).unlink(missing_ok=True)
            (self.directory / manifest.file).unlink(missing_ok=True)
        except OSError as error:
            raise BackupError(describe_os_error(error, self.directory)) from None

    def _manifest_path(self, name: str) -> Path:
        return self.directory / f"{name}{MANIFEST_SUFFIX}"
