"""PostgreSQL backups: ``pg_dump --format=custom`` from one snapshot, restored into a scratch
database, and swapped in by renaming (docs/adr/0002)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from app.backups.contents import Contents, DumpInfo
from app.backups.errors import BackupError, first_line
from app.backups.files import CHUNK_SIZE
from app.backups.interrupts import deferred, point_of_no_return
from app.backups.manifest import Manifest
from app.backups.pg_tools import (
    APPLICATION_NAME,
    CONNECT_TIMEOUT_SECONDS,
    Tool,
    find_tool,
    run_tool,
    tool_environment,
)
from app.backups.progress import Progress

log = logging.getLogger(__name__)

# gzip level 1: at 100k articles pg_dump took 2.5 s for 74 MB, against 11.1 s for 65 MB at
# its default level 6 (bench/backups.py); the CPU is worth more than the last 12 % of size.
DUMP_COMPRESSION = 1
RESTORE_JOBS = 2  # pg_restore --jobs: parallel data load and index builds into the scratch copy
SWAP_ATTEMPTS = 3  # each RENAME waits up to 5 s for terminated sessions to go
SCRATCH_PURPOSES = ("verify", "restore", "old")
# Settings stored as lists keep their own quoting (pg_dumpall's GUC_LIST_QUOTE variables).
LIST_SETTINGS = frozenset(
    {"search_path", "temp_tablespaces", "local_preload_libraries", "session_preload_libraries"}
)
OBJECT_IN_USE = "55006"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class PostgresDatabase:
    kind = "postgresql"
    suffix = ".dump"

    def __init__(self, url: URL, bin_dir: str = "", maintenance_db: str = "postgres") -> None:
        if not url.database:
            raise BackupError("DATABASE_URL names no PostgreSQL database")
        self.url = url
        self.name = url.database
        self.bin_dir = bin_dir
        self.maintenance_db = maintenance_db

    def __str__(self) -> str:
        return f"PostgreSQL database {self.name!r}"

    # --- connections ------------------------------------------------------------------------

    @contextmanager
    def _connect(self, database: str, autocommit: bool = True) -> Iterator[Connection]:
        """A connection of its own (no pool); driver errors become one-line ``BackupError``s."""
        engine = create_engine(
            self.url.set(database=database),
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT" if autocommit else "REPEATABLE READ",
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                "application_name": APPLICATION_NAME,
            },
        )
        try:
            with engine.connect() as connection:
                yield connection
        except DBAPIError as error:
            message = first_line(str(error.orig))
            if self.url.password:
                message = message.replace(self.url.password, "[REDACTED]")
            raise BackupError(f"PostgreSQL database {database!r}: {message}") from None
        finally:
            engine.dispose()

    def _server_major(self, connection: Connection) -> int:
        return int(connection.scalar(text("SHOW server_version_num"))) // 10000

    def _tool(self, name: str, server_major: int) -> Tool:
        return find_tool(name, self.bin_dir, server_major)

    def _env(self, database: str) -> dict[str, str]:
        return tool_environment(self.url, database)

    # --- contents ---------------------------------------------------------------------------

    @staticmethod
    def _contents(connection: Connection) -> Contents:
        tables = connection.execute(
            text(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT LIKE 'pg\\_%' "
                "AND schemaname <> 'information_schema' ORDER BY 1, 2"
            )
        ).all()
        counts: dict[str, int] = {}
        for schema, table in tables:
            key = table if schema == "public" else f"{schema}.{table}"
            counts[key] = connection.scalar(
                text(f"SELECT count(*) FROM {_quote(schema)}.{_quote(table)}")  # noqa: S608
            )
        revision = None
        if "alembic_version" in counts:
            revision = connection.scalar(text("SELECT min(version_num) FROM alembic_version"))
        return Contents(counts, revision)

    # --- create -----------------------------------------------------------------------------

    def dump(self, path: Path, progress: Progress) -> DumpInfo:
        """Stream the custom-format dump into ``path`` in chunks. The row counts are taken in the
        snapshot that pg_dump dumps (``pg_export_snapshot``), so they match the file exactly even
        while the service writes."""
        with self._connect(self.name, autocommit=False) as connection:
            connection = connection.execution_options(postgresql_readonly=True)
            server_major = self._server_major(connection)
            server_version = connection.scalar(text("SHOW server_version"))
            pg_dump = self._tool("pg_dump", server_major)
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            contents = self._contents(connection)

            with path.open("wb") as target:

                def copy(stdout: IO[bytes]) -> None:
                    while chunk := stdout.read(CHUNK_SIZE):
                        target.write(chunk)
                        progress.advance(len(chunk))

                run_tool(
                    pg_dump,
                    [
                        "--format=custom",
                        f"--compress={DUMP_COMPRESSION}",
                        f"--snapshot={snapshot}",
                        "--no-password",
                    ],
                    self._env(self.name),
                    self.url.password,
                    on_output=copy,
                )
            connection.rollback()
        return DumpInfo(
            contents.row_counts,
            contents.schema_revision,
            tool_version=f"pg_dump {pg_dump.version}",
            server_version=f"PostgreSQL {server_version}",
        )

    # --- verify and restore -----------------------------------------------------------------

    def exists(self) -> bool:
        with self._connect(self.maintenance_db) as admin:
            return self._exists(admin, self.name)

    @staticmethod
    def _exists(admin: Connection, name: str) -> bool:
        found = admin.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        return found is not None

    @contextmanager
    def restored_copy(self, path: Path, manifest: Manifest) -> Iterator[Contents]:
        """Restore ``path`` into a scratch database on the same server and yield what it holds;
        the scratch database is dropped afterwards, whatever happens (Ctrl-C and SIGTERM too)."""
        with (
            self._admin() as admin,
            self._scratch(admin, path, manifest, "verify") as scratch,
            self._connect(scratch) as connection,
        ):
            yield self._contents(connection)

    def replace(self, path: Path, manifest: Manifest, check: Callable[[Contents], None]) -> None:
        """Make the configured database hold exactly the backup's data, or leave it untouched.

        The backup is restored into a scratch database and checked there; only then are the
        names swapped, in one transaction. Sessions on the configured database are ended first
        (their requests get the contract's 503; the pool replaces ended connections at checkout).
        """
        with self._admin() as admin, self._scratch(admin, path, manifest, "restore") as scratch:
            with self._connect(scratch) as connection:
                check(self._contents(connection))
                connection.execute(text("ANALYZE"))  # planner statistics before traffic
            if self._exists(admin, self.name):
                self._copy_database_properties(admin, scratch)
                point_of_no_return()
                self._swap(admin, scratch)
            else:
                point_of_no_return()
                admin.execute(
                    text(f"ALTER DATABASE {_quote(scratch)} RENAME TO {_quote(self.name)}")
                )

    @contextmanager
    def _admin(self) -> Iterator[Connection]:
        """A connection to the maintenance database holding this database's backup lock: one
        verify or restore at a time, so leftovers of an interrupted run can be dropped safely."""
        with self._connect(self.maintenance_db) as admin:
            key = f"conduit-backup:{self.name}"
            locked = admin.scalar(
                text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"), {"k": key}
            )
            if not locked:
                raise BackupError(
                    f"another `flask backup verify` or `restore` is running on {self}; "
                    "try again when it has finished"
                )
            self._drop_leftovers(admin)
            yield admin

    def _scratch_name(self, purpose: str) -> str:
        return f"{self.name[:40]}__{purpose}_{secrets.token_hex(4)}"

    def _drop_leftovers(self, admin: Connection) -> None:
        """Scratch and old databases left by a run that was killed (SIGKILL, power loss)."""
        prefixes = tuple(f"{self.name[:40]}__{purpose}_" for purpose in SCRATCH_PURPOSES)
        names = admin.scalars(text("SELECT datname FROM pg_database")).all()
        for name in names:
            if name.startswith(prefixes):
                admin.execute(text(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)"))

    @contextmanager
    def _scratch(
        self, admin: Connection, path: Path, manifest: Manifest, purpose: str
    ) -> Iterator[str]:
        server_major = self._server_major(admin)
        pg_restore = self._tool("pg_restore", server_major)
        dumped_by = manifest.tool_version.split()[-1].split(".")[0]
        if dumped_by.isdigit() and pg_restore.major < int(dumped_by):
            raise BackupError(
                f"pg_restore {pg_restore.version} cannot read backup {manifest.name}, written by "
                f"{manifest.tool_version}; install newer client tools or set BACKUP_PG_BIN_DIR"
            )
        scratch = self._scratch_name(purpose)
        try:
            self._create_like_target(admin, scratch)
            run_tool(
                pg_restore,
                [
                    "--exit-on-error",
                    "--no-owner",
                    f"--jobs={RESTORE_JOBS}",
                    "--no-password",
                    f"--dbname={scratch}",
                    str(path),
                ],
                self._env(scratch),
                self.url.password,
            )
            yield scratch
        finally:
            self._drop_quietly(scratch)

    def _drop_quietly(self, name: str) -> None:
        """Drop a scratch database on a fresh connection (an interrupted one may be unusable);
        if even that fails, the next verify or restore drops it (``_drop_leftovers``). After a
        swap the scratch name is gone, and IF EXISTS makes this a no-op."""
        try:
            with deferred(), self._connect(self.maintenance_db) as admin:
                admin.execute(text(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)"))
        except BackupError as error:
            log.warning("could not drop the scratch database %s: %s", name, error)

    def _create_like_target(self, admin: Connection, scratch: str) -> None:
        """An empty database with the configured one's encoding, collation and owner."""
        row = admin.execute(
            text(
                "SELECT pg_encoding_to_char(encoding), datcollate, datctype, "
                "pg_get_userbyid(datdba), current_user FROM pg_database WHERE datname = :n"
            ),
            {"n": self.name},
        ).first()
        statement = f"CREATE DATABASE {_quote(scratch)} TEMPLATE template0"
        if row:
            encoding, collate, ctype, owner, current = row
            statement += (
                f" ENCODING {_literal(encoding)} LC_COLLATE {_literal(collate)}"
                f" LC_CTYPE {_literal(ctype)}"
            )
            if owner != current:
                statement += f" OWNER {_quote(owner)}"
        admin.execute(text(statement))

    def _copy_database_properties(self, admin: Connection, scratch: str) -> None:
        """pg_dump without --create carries no ``ALTER DATABASE ... SET`` and no database-level
        GRANT; copy both from the configured database so the swap changes only the data."""
        settings = admin.scalars(
            text(
                "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_database d "
                "ON d.oid = s.setdatabase WHERE d.datname = :n AND s.setrole = 0"
            ),
            {"n": self.name},
        ).all()
        for setting in settings:
            key, _, value = setting.partition("=")
            rendered = value if key in LIST_SETTINGS else _literal(value)
            admin.execute(text(f"ALTER DATABASE {_quote(scratch)} SET {key} TO {rendered}"))
        has_acl = admin.scalar(
            text("SELECT datacl IS NOT NULL FROM pg_database WHERE datname = :n"), {"n": self.name}
        )
        if not has_acl:
            return
        grants = admin.execute(
            text(
                "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, "
                "a.privilege_type FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a "
                "WHERE d.datname = :n"
            ),
            {"n": self.name},
        ).all()
        admin.execute(text(f"REVOKE ALL ON DATABASE {_quote(scratch)} FROM PUBLIC"))
        for grantee, privilege in grants:
            role = "PUBLIC" if grantee is None else _quote(grantee)
            admin.execute(text(f"GRANT {privilege} ON DATABASE {_quote(scratch)} TO {role}"))

    def _swap(self, admin: Connection, scratch: str) -> None:
        """Rename the configured database away and the scratch one into its place, atomically."""
        target, old = _quote(self.name), self._scratch_name("old")
        admin.execute(text(f"ALTER DATABASE {target} WITH ALLOW_CONNECTIONS false"))
        try:
            for attempt in range(1, SWAP_ATTEMPTS + 1):
                admin.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": self.name},
                )
                with self._connect(self.maintenance_db, autocommit=False) as swap:
                    try:
                        swap.execute(text(f"ALTER DATABASE {target} RENAME TO {_quote(old)}"))
                        swap.execute(text(f"ALTER DATABASE {_quote(scratch)} RENAME TO {target}"))
                        swap.commit()
                        break
                    except DBAPIError as error:
                        # A session that was still ending: terminate again and retry.
                        in_use = getattr(error.orig, "sqlstate", None) == OBJECT_IN_USE
                        if not in_use or attempt == SWAP_ATTEMPTS:
                            raise
        finally:
            # The configured name is the new database after a swap, else still the old one:
            # either way it must accept connections again.
            admin.execute(text(f"ALTER DATABASE {target} WITH ALLOW_CONNECTIONS true"))
        admin.execute(text(f"DROP DATABASE IF EXISTS {_quote(old)} WITH (FORCE)"))
