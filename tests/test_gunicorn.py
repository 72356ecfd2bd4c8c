"""The service as operators run it: gunicorn with ops/gunicorn.conf.py, over real HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import CHEAP_PASSWORD_HASHING
from tests.serving import GUNICORN, gunicorn, migrate

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {**base, **CHEAP_PASSWORD_HASHING, **extra}


def _call(base: str, method: str, path: str, body: Any = None, token: str | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextlib.contextmanager
def _serving(env: dict[str, str], stderr: Any = subprocess.DEVNULL) -> Iterator[str]:
    """Migrate ``env``'s database, then serve it with one gunicorn worker until the block ends."""
    migrate(env)
    with gunicorn(env, stderr=stderr) as base:
        yield base


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite database and gunicorn serving the app on a free loopback port."""
    env = _env(APP_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path}/served.db")
    with _serving(env) as base:
        yield base


def test_gunicorn_serves_ping_registration_login_and_current_user(served):
    assert _call(served, "GET", "/ping") == (200, {"status": "ok"})
    credentials = {"email": "ops@example.com", "password": "correct horse battery"}
    status, _ = _call(served, "POST", "/api/users", {"user": {"username": "ops", **credentials}})
    assert status == 201
    status, body = _call(served, "POST", "/api/users/login", {"user": credentials})
    assert status == 200
    status, body = _call(served, "GET", "/api/user", token=body["user"]["token"])
    assert (status, body["user"]["username"]) == (200, "ops")


@pytest.mark.parametrize(
    ("name", "value"), [("SECRET_KEY", "changeme"), ("JWT_SECRET_KEY", "short-secret")]
)
def test_gunicorn_refuses_to_start_in_production_with_an_unsafe_secret(tmp_path, name, value):
    env = _env(
        APP_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path}/prod.db",
        SECRET_KEY=secrets.token_hex(32),
        JWT_SECRET_KEY=secrets.token_hex(32),
        BIND=f"127.0.0.1:{_free_port()}",
    )
    env[name] = value
    result = subprocess.run(
        GUNICORN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 4
    assert f"configuration error: {name} " in result.stderr
    assert value not in result.stderr
    assert "Traceback" not in result.stderr


def test_gunicorn_in_production_behind_one_proxy(tmp_path):
    # As nginx forwards it: the client forged 6.6.6.6, nginx appended the address it saw.
    env = _env(
        APP_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path}/prod.db",
        SECRET_KEY=secrets.token_hex(32),
        JWT_SECRET_KEY=secrets.token_hex(32),
    )
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as stderr, _serving(env, stderr) as base:
        request = urllib.request.Request(base + "/api/tags")
        request.add_header("X-Forwarded-For", "6.6.6.6, 203.0.113.9")
        request.add_header("X-Forwarded-Proto", "https")
        request.add_header("X-Request-ID", "behind-one-proxy")
        with urllib.request.urlopen(request, timeout=10) as response:
            headers = response.headers
    # gunicorn names itself without a version; nginx replaces the header anyway.
    assert headers.get_all("Server") == ["gunicorn"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    logged = [line for line in lines if line.get("request_id") == "behind-one-proxy"]
    assert [(line["path"], line["remote_addr"]) for line in logged] == [
        ("/api/tags", "203.0.113.9")
    ]


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """The module-level settings ops/gunicorn.conf.py computes from this environment."""
    import runpy

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "ops" / "gunicorn.conf.py"))


def test_workers_are_not_recycled_by_default(monkeypatch):
    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)

    settings = _settings(monkeypatch)

    assert (settings["max_requests"], settings["max_requests_jitter"]) == (0, 0)


def test_worker_recycling_comes_from_the_environment_with_a_tenth_of_jitter(monkeypatch):
    settings = _settings(monkeypatch, GUNICORN_MAX_REQUESTS="50000")

    assert (settings["max_requests"], settings["max_requests_jitter"]) == (50000, 5000)


@pytest.mark.parametrize("value", ["-1", "many"])
def test_bad_worker_recycling_setting_stops_gunicorn_with_one_line(monkeypatch, value):
    with pytest.raises(SystemExit, match="GUNICORN_MAX_REQUESTS"):
        _settings(monkeypatch, GUNICORN_MAX_REQUESTS=value)


def test_each_worker_listens_on_its_own_reuse_port_socket_by_default(monkeypatch):
    monkeypatch.delenv("GUNICORN_REUSE_PORT", raising=False)

    assert _settings(monkeypatch)["reuse_port"] is True


def test_one_shared_listening_socket_on_request(monkeypatch):
    assert _settings(monkeypatch, GUNICORN_REUSE_PORT="0")["reuse_port"] is False
