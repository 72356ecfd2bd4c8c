"""gunicorn serving the app as operators run it (``ops/gunicorn.conf.py``), on a free loopback
port, for the tests that need real HTTP and real processes; stopped by its PID."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.pg_cluster import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "ops/gunicorn.conf.py", "wsgi:app"]
START_TIMEOUT = 30


def migrate(env: dict[str, str]) -> None:
    """``flask db upgrade`` on ``env``'s database, as a deploy runs it before gunicorn starts."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def answers_ping(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/ping", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


class GunicornProcess:
    """One gunicorn master on a fixed loopback port, started and stopped on demand: a restart
    keeps the port, as a supervisor's would (nginx's upstream names it). Stopped by its PID.
    ``stderr`` is a file object (opened in append mode, it keeps every run's lines) or
    ``subprocess.DEVNULL``."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int = 1,
        stderr: Any = subprocess.DEVNULL,
        port: int | None = None,
    ) -> None:
        self.env = env
        self.workers = workers
        self.stderr = stderr
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        """Start the master; returns at once (``wait_ready`` waits for ``/ping``)."""
        self.process = subprocess.Popen(
            GUNICORN,
            cwd=ROOT,
            env={**self.env, "BIND": self.address, "WEB_CONCURRENCY": str(self.workers)},
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until it answers ``/ping``; it must not exit meanwhile."""
        assert self.process is not None, "gunicorn was not started"
        deadline = time.monotonic() + timeout
        while not answers_ping(self.base):
            assert self.process.poll() is None, "gunicorn exited during start-up"
            assert time.monotonic() < deadline, f"gunicorn did not answer /ping within {timeout} s"
            time.sleep(0.1)

    def terminate(self) -> None:
        """SIGTERM: a graceful stop begins (in-flight requests finish, up to 30 s)."""
        assert self.process is not None, "gunicorn was not started"
        self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = 30) -> int:
        """Wait for the master to exit; its exit status."""
        assert self.process is not None, "gunicorn was not started"
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM, and it must exit 0 (a graceful stop) within 30 s."""
        self.terminate()
        assert self.wait_stopped() == 0


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], workers: int = 1, stderr: Any = subprocess.DEVNULL
) -> Iterator[str]:
    """Run gunicorn with ``env`` until the block ends; yields its base URL. It must answer
    ``/ping`` within 30 s, and exit 0 on SIGTERM (a graceful stop)."""
    server = GunicornProcess(env, workers=workers, stderr=stderr)
    server.start()
    try:
        server.wait_ready()
        yield server.base
    finally:
        server.stop()
