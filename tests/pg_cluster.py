"""A private PostgreSQL cluster for one test module: its own data directory and port, started
with ``initdb``/``pg_ctl`` and stopped by its postmaster's PID, so the shared server is never
touched. Used where a test needs what the shared server cannot give: password authentication
(it trusts every local connection) or another major version.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def debian_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL server binaries on this host, if any."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    return candidates[-1].parent if candidates else None


@dataclass
class Cluster:
    port: int
    password: str
    pid: int
    major: int

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://postgres:{secret}@127.0.0.1:{self.port}/{database}"


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb refuses to run as root; the Debian package's "postgres" account exists here.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def private_cluster(bin_dir: Path, password: str) -> Iterator[Cluster]:
    """initdb (scram-sha-256 for every connection) + pg_ctl start on a free loopback port."""
    root = Path(tempfile.mkdtemp(prefix="conduit-pg-"))
    data, pwfile, port = root / "data", root / "pwfile", free_port()
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    pid = None
    try:
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                 "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-sync"]
            ),
            check=True, capture_output=True, timeout=START_TIMEOUT,
        )  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                 "-o", options, "-w", "-t", str(START_TIMEOUT), "start"]
            ),
            check=True, capture_output=True, timeout=START_TIMEOUT + 5,
        )  # fmt: skip
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        version = (data / "PG_VERSION").read_text().strip()
        yield Cluster(port, password, pid, int(version))
    finally:
        if pid is not None:
            _stop(pid)
        shutil.rmtree(root, ignore_errors=True)


def _stop(pid: int) -> None:
    """Fast shutdown (SIGINT to the postmaster), then wait for the PID to be gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
