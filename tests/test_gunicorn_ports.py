"""gunicorn refuses an address another process listens on, at once and with one line, instead of
sharing it (SO_REUSEPORT) or respawning workers forever; a reload of the same master still works."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from config import CHEAP_PASSWORD_HASHING
from tests.serving import GUNICORN, ROOT, GunicornProcess, answers_ping

START_LIMIT = 20  # seconds a refused start may take (the app's settings are read first)


def environment(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    database = f"sqlite:///{tmp_path / 'ports.db'}"
    return {**base, **CHEAP_PASSWORD_HASHING, "APP_ENV": "development", "DATABASE_URL": database}


def start_on(port: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bound = {**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    return subprocess.run(
        GUNICORN, cwd=ROOT, env=bound, capture_output=True, text=True, timeout=START_LIMIT
    )


def test_a_port_held_by_an_ordinary_socket_stops_the_start_with_one_line(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        result = start_on(port, environment(tmp_path))
    assert result.returncode == 3
    assert time.monotonic() - started < START_LIMIT
    errors = [line for line in result.stderr.splitlines() if "[ERROR]" in line]
    assert len(errors) == 1
    assert f"cannot listen on http://127.0.0.1:{port}: another process uses it" in errors[0]
    assert "Booting worker" not in result.stderr


def test_a_second_instance_on_the_same_port_is_refused_and_the_first_keeps_serving(tmp_path):
    env = environment(tmp_path)
    first = GunicornProcess(env)
    first.start()
    try:
        first.wait_ready()
        result = start_on(first.port, env)
        assert result.returncode == 3
        assert "another process uses it" in result.stderr
        assert all(answers_ping(first.base) for _ in range(20))
    finally:
        first.stop()


def test_a_reload_of_the_same_master_keeps_its_port(tmp_path):
    server = GunicornProcess(environment(tmp_path))
    server.start()
    try:
        server.wait_ready()
        assert server.process is not None
        server.process.send_signal(signal.SIGHUP)
        time.sleep(2)  # the old worker stops, a new one binds the port again
        server.wait_ready()
        assert server.process.poll() is None
        with urllib.request.urlopen(f"{server.base}/ping", timeout=5) as response:
            assert response.status == 200
    finally:
        server.stop()


def test_the_start_up_log_names_the_address_it_listens_on(tmp_path):
    log = tmp_path / "gunicorn.log"
    with log.open("ab") as stderr:
        server = GunicornProcess(environment(tmp_path), stderr=stderr)
        server.start()
        try:
            server.wait_ready()
        finally:
            server.stop()
    assert f"serving on http://127.0.0.1:{server.port} (1 workers x 4 threads)" in log.read_text()
