"""Durable files: streamed checksums, writes that reach the disk, and renames that publish them.

A file appears under its final name only after its bytes were fsynced, so a crash or a full
disk leaves at worst a hidden ``.partial`` file, never a truncated backup under a real name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from app.backups.errors import BackupError
from app.backups.interrupts import deferred

CHUNK_SIZE = 1 << 20  # 1 MiB: memory stays flat whatever the backup's size
PARTIAL_SUFFIX = ".partial"
# Backups hold password hashes and email addresses: readable by their owner only.
PRIVATE_FILE = 0o600
PRIVATE_DIRECTORY = 0o700


def describe_os_error(error: OSError, path: Path | str) -> str:
    if error.errno == errno.ENOSPC:
        return f"no space left on the device while writing {path}"
    if error.errno in {errno.EACCES, errno.EPERM}:
        return f"permission denied: {path}"
    return f"{error.strerror or error} ({path})"


def sha256_of(path: Path, on_progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """The SHA-256 hex digest and size of ``path``, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
            if on_progress:
                on_progress(size)
    return digest.hexdigest(), size


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    """Make a rename inside ``path`` durable (the directory entry itself is data)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_private(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only, before anything is written to it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE))
        os.chmod(path, PRIVATE_FILE)  # it may have existed with wider permissions
    except OSError as error:
        raise BackupError(describe_os_error(error, path)) from None


def partial_path(final: Path) -> Path:
    """A hidden sibling of ``final`` to write into before publishing it."""
    return final.with_name(f".{final.name}.{os.getpid()}{PARTIAL_SUFFIX}")


def publish(partial: Path, final: Path) -> None:
    """fsync ``partial``, rename it to ``final`` atomically, and make the rename durable."""
    try:
        fsync_file(partial)
        os.replace(partial, final)
        fsync_directory(final.parent)
    except OSError as error:
        raise BackupError(describe_os_error(error, final)) from None


def write_atomically(final: Path, data: bytes) -> None:
    """Write ``data`` to ``final`` so that readers see the old content or all of the new."""
    partial = partial_path(final)
    create_private(partial)
    try:
        with partial.open("wb") as stream:
            stream.write(data)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise BackupError(describe_os_error(error, final)) from None
    try:
        publish(partial, final)
    finally:
        partial.unlink(missing_ok=True)


@contextlib.contextmanager
def temporary_directory(prefix: str) -> Iterator[Path]:
    """A private temporary directory, removed afterwards even when the block is interrupted."""
    directory = None
    try:
        with deferred():  # a signal between mkdtemp and the assignment would leak it
            directory = Path(tempfile.mkdtemp(prefix=prefix))
        yield directory
    finally:
        if directory is not None:
            with deferred(), contextlib.suppress(OSError):
                shutil.rmtree(directory)
