"""A private PostgreSQL cluster for one test module: its own data directory and port, started
with ``initdb``/``pg_ctl`` and stopped by its postmaster's PID, so the shared server is never
touched. Used where a test needs what the shared server cannot give: password authentication
(it trusts every local connection), another major version, or an outage (the fault drill stops
it and starts it again on the same data directory and port: ``Cluster.stop``/``start``).
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
    # Set by private_cluster, for a stop and a start again; a Cluster built by hand has none.
    bin_dir: Path | None = None
    data: Path | None = None
    options: str = ""

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://postgres:{secret}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        """Fast shutdown (``pg_ctl stop -m fast``'s signal) to the postmaster's PID; returns
        once it is gone: its clients' connections are cut, new ones refused."""
        _stop(self.pid)

    def start(self) -> None:
        """Start it again on the same data directory and port; returns once it accepts
        connections."""
        assert self.bin_dir is not None and self.data is not None, "not a private_cluster"
        self.pid = _start(self.bin_dir, self.data, self.options)


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
    cluster: Cluster | None = None
    try:
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                 "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-sync"]
            ),
            check=True, capture_output=True, timeout=START_TIMEOUT,
        )  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        pid = _start(bin_dir, data, options)
        version = (data / "PG_VERSION").read_text().strip()
        cluster = Cluster(port, password, pid, int(version), bin_dir, data, options)
        yield cluster
    finally:
        if cluster is not None:
            _stop(cluster.pid)
        elif pid is not None:
            _stop(pid)
        shutil.rmtree(root, ignore_errors=True)


def _start(bin_dir: Path, data: Path, options: str) -> int:
    """``pg_ctl start -w`` (the log next to the data directory); the postmaster's PID."""
    subprocess.run(
        _as_postgres(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "log"),
             "-o", options, "-w", "-t", str(START_TIMEOUT), "start"]
        ),
        check=True, capture_output=True, timeout=START_TIMEOUT + 5,
    )  # fmt: skip
    return int((data / "postmaster.pid").read_text().splitlines()[0])


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
