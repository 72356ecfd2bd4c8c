"""Backups of the configured database (``flask backup ...``): PostgreSQL through pg_dump and
pg_restore, SQLite through its online backup API; kept in a directory or an S3 bucket; every
one checkable by a real restore. See docs/BACKUP_RESTORE.md."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import URL

from app.backups.errors import BackupError
from app.backups.manifest import Manifest
from app.backups.retention import RetentionPolicy
from app.backups.service import Backups, Database
from app.backups.storage import LocalStorage, Storage

__all__ = ["BackupError", "Backups", "Manifest", "RetentionPolicy", "backups_for"]


def database_for(url: URL, app: Flask) -> Database:
    backend = url.get_backend_name()
    if backend == "postgresql":
        from app.backups.postgres import PostgresDatabase

        return PostgresDatabase(
            url, app.config["BACKUP_PG_BIN_DIR"], app.config["BACKUP_PG_MAINTENANCE_DB"]
        )
    if backend == "sqlite":
        from app.backups.sqlite import SqliteDatabase

        if not url.database or url.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        timeout = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}).get("timeout")
        return SqliteDatabase(Path(url.database), float(timeout or 15))
    raise BackupError(f"backups support PostgreSQL and SQLite databases, not {backend}")


def storage_for(app: Flask) -> Storage:
    config = app.config
    if config["BACKUP_S3_BUCKET"]:
        from app.backups.s3 import S3Storage  # boto3 is imported only when S3 is used

        return S3Storage(
            config["BACKUP_S3_BUCKET"],
            config["BACKUP_S3_PREFIX"],
            config["BACKUP_S3_ENDPOINT_URL"],
        )
    directory = config["BACKUP_DIR"] or str(Path(app.instance_path) / "backups")
    return LocalStorage(Path(directory).resolve())


def backups_for(app: Flask, url: URL, echo: Callable[[str], None] = lambda _line: None) -> Backups:
    """The backups of database ``url`` (the engine's URL: SQLite paths already resolved)."""
    return Backups(database_for(url, app), storage_for(app), app.config["APP_VERSION"], echo)
