"""The processes the fault drill owns, all on loopback and stopped by PID: a private PostgreSQL
cluster (initdb/pg_ctl on a spare port: the shared server is never restarted), a private
redis-server on a spare port, and gunicorn with ops/gunicorn.conf.py in production mode."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString

import psycopg

from tests.pg_cluster import Cluster, debian_bin_dir, private_cluster
from tests.redis_process import RedisServer
from tests.serving import GunicornProcess, migrate

DATABASE = "conduit_drill"
KEY_PREFIX = "drill"  # the limiter's keys in the private Redis
WORKERS, THREADS = 2, 4
# The load's users get budgets the load cannot spend (their 429s would hide the faults); the
# auth class keeps its production default (10/minute per address) and is the drill's probe.
LOAD_LIMITS = {"RATELIMIT_READ": "500/second", "RATELIMIT_WRITE": "500/second"}
AUTH_BUDGET = 10  # RATELIMIT_AUTH's default per minute (config.py)


class MissingTool(RuntimeError):
    """A binary the drill needs is not installed (a failure in CI, as anywhere)."""


@dataclass
class Stack:
    cluster: Cluster
    redis: RedisServer
    gunicorn: GunicornProcess
    log: Path  # gunicorn's stderr: its own lines and the app's JSON request log

    @property
    def port(self) -> int:
        return self.gunicorn.port

    def sql(self, query: LiteralString) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.cluster.url(DATABASE), connect_timeout=5) as connection:
            return connection.execute(query).fetchall()

    def limiter_keys(self) -> list[str]:
        try:
            return self.redis.keys(f"*{KEY_PREFIX}*")
        except Exception:  # Redis not up (yet): no keys
            return []

    def fallback_gauge(self) -> float | None:
        """conduit_rate_limit_fallback from /metrics: 1 while any worker counts in memory."""
        try:
            with urllib.request.urlopen(f"{self.gunicorn.base}/metrics", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("conduit_rate_limit_fallback "):
                return float(line.split()[1])
        return 0.0  # no worker has reported a fallback yet

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _tools() -> tuple[Path, str]:
    bin_dir = debian_bin_dir()
    if bin_dir is None:
        raise MissingTool(
            "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql"
        )
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        raise MissingTool("redis-server is not installed")
    return bin_dir, redis_binary


def production_env(database_url: str, redis_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **base,
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": secrets.token_hex(32),
        "RATELIMIT_KEY_PREFIX": KEY_PREFIX,
        "TRUSTED_PROXY_HOPS": "0",  # served directly: the client's own address counts
        "GUNICORN_THREADS": str(THREADS),
        **LOAD_LIMITS,
    }


@contextlib.contextmanager
def running_stack() -> Iterator[Stack]:
    """Start everything; stop everything by PID and remove every scratch directory after."""
    bin_dir, redis_binary = _tools()
    scratch = Path(tempfile.mkdtemp(prefix="conduit-drill-"))
    password = secrets.token_hex(16)
    redis = RedisServer(redis_binary, scratch)
    server: GunicornProcess | None = None
    try:
        with private_cluster(bin_dir, password) as cluster:
            with psycopg.connect(cluster.url(), autocommit=True, connect_timeout=5) as admin:
                admin.execute(f'CREATE DATABASE "{DATABASE}"')
            redis.start()
            env = production_env(cluster.url(DATABASE), redis.url)
            migrate(env)
            log = scratch / "gunicorn.log"
            with log.open("ab") as stderr:
                server = GunicornProcess(env, workers=WORKERS, stderr=stderr)
                server.start()
                try:
                    server.wait_ready()
                    yield Stack(cluster, redis, server, log)
                finally:
                    _stop_gunicorn(server)
    finally:
        redis.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def _stop_gunicorn(server: GunicornProcess) -> None:
    process = server.process
    if process is None or process.poll() is not None:
        return
    server.terminate()
    try:
        process.wait(timeout=35)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
