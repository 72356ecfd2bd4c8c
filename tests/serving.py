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


def answers_ping(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/ping", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], workers: int = 1, stderr: Any = subprocess.DEVNULL
) -> Iterator[str]:
    """Run gunicorn with ``env`` until the block ends; yields its base URL. It must answer
    ``/ping`` within 30 s, and exit 0 on SIGTERM (a graceful stop)."""
    port = free_port()
    process = subprocess.Popen(
        GUNICORN,
        cwd=ROOT,
        env={**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not answers_ping(base):
            assert process.poll() is None, "gunicorn exited during start-up"
            assert time.monotonic() < deadline, "gunicorn did not answer /ping within 30 s"
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
