"""The PostgreSQL client programs (pg_dump, pg_restore): finding them, checking their version,
and running them with the connection in the environment, never on the command line."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from sqlalchemy.engine import URL

from app.backups.errors import BackupError, first_line

# libpq settings a DATABASE_URL may carry in its query string, and their environment variables.
LIBPQ_QUERY_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
}
CONNECT_TIMEOUT_SECONDS = 10
APPLICATION_NAME = "conduit-backup"


@dataclass(frozen=True)
class Tool:
    name: str
    path: str
    version: str  # "15.20"
    major: int


def find_tool(name: str, bin_dir: str, server_major: int) -> Tool:
    """``name`` from ``bin_dir`` (else ``PATH``), refused when missing or older than the server."""
    path = shutil.which(name, path=bin_dir) if bin_dir else shutil.which(name)
    hint = (
        f"install the PostgreSQL {server_major} client tools (Debian: postgresql-client-"
        f"{server_major}) or set BACKUP_PG_BIN_DIR to their directory"
    )
    if path is None:
        where = f"in BACKUP_PG_BIN_DIR ({bin_dir})" if bin_dir else "on PATH"
        raise BackupError(f"{name} was not found {where}; {hint}")
    try:
        result = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as error:
        raise BackupError(f"{name} ({path}) cannot run: {error.strerror}") from None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", result.stdout)
    if result.returncode != 0 or not match:
        raise BackupError(f"{name} ({path}) did not report a PostgreSQL version; {hint}")
    version = match.group(1) + (f".{match.group(2)}" if match.group(2) else "")
    tool = Tool(name, path, version, int(match.group(1)))
    if tool.major < server_major:
        raise BackupError(
            f"{name} {tool.version} is older than the PostgreSQL {server_major} server; {hint}"
        )
    return tool


def tool_environment(url: URL, database: str) -> dict[str, str]:
    """The process environment with the connection of ``url`` to ``database`` as ``PG*``
    variables: the password stays out of argv (``ps`` shows argv to every local user)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    settings = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": database,
        "PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECONDS),
        "PGAPPNAME": APPLICATION_NAME,
    }
    for key, variable in LIBPQ_QUERY_ENV.items():
        value = url.query.get(key)
        if value:
            settings[variable] = value if isinstance(value, str) else value[0]
    env.update({key: str(value) for key, value in settings.items() if value})
    return env


def tool_failure(tool: Tool, stderr: str, password: str | None) -> BackupError:
    """One line from a failed tool's stderr: its first ``error:`` line, without the prefix."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    chosen = next((line for line in lines if "error:" in line), lines[0] if lines else "")
    message = chosen.split("error:", 1)[-1].strip() or "it exited without a message"
    if password:
        message = message.replace(password, "[REDACTED]")
    return BackupError(f"{tool.name} failed: {first_line(message)}")


def run_tool(
    tool: Tool,
    args: list[str],
    env: dict[str, str],
    password: str | None,
    on_output: Callable[[IO[bytes]], None] | None = None,
) -> None:
    """Run ``tool`` in its own process group; ``on_output`` reads its stdout while it runs.

    Any exception here (Ctrl-C, SIGTERM, a full disk in ``on_output``) kills the whole group
    first, so no pg_dump or parallel pg_restore worker outlives the command.
    """
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - a fixed argument list, no shell
            [tool.path, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if on_output else subprocess.DEVNULL,
            stderr=errors,
            env=env,
            start_new_session=True,
        )
        try:
            if on_output and process.stdout:
                with process.stdout:
                    on_output(process.stdout)
            code = process.wait()
        except BaseException:
            _kill_group(process)
            raise
        if code != 0:
            errors.seek(0)
            raise tool_failure(tool, errors.read().decode(errors="replace"), password)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
