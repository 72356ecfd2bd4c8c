"""The benchmark's machinery: databases, gunicorn servers, CPU quietness, wrk, time limits.

It knows nothing of which routes are measured (bench/scenarios.py) or how the numbers are
written (bench/report.py). Everything binds to 127.0.0.1; everything it starts is stopped and
every database it creates is dropped, also on errors; every step has a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import redis
from psycopg import sql

if TYPE_CHECKING:  # only for annotations: bench.scenarios imports this module
    from bench.scenarios import Scenario

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # run with the project's .venv/bin/python
LUA = ROOT / "bench" / "wrk.lua"
WRK_VERSION, WRK_PACKAGE = "4.1.0", "wrk=4.1.0-3+b2"
SEED = 42


@dataclass
class Measurement:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    busy_before: float = 0.0  # share of the CPUs other processes used just before (ours idle)
    busy_during: float = 0.0  # ... and during the measurement


class Deadline:
    def __init__(self, minutes: float) -> None:
        self.end = time.monotonic() + minutes * 60

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise SystemExit("bench: --max-minutes reached; stopping")


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def check_tools() -> None:
    try:
        version = subprocess.run(
            ["wrk", "--version"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise SystemExit(f"wrk is not installed: apt-get install -y {WRK_PACKAGE}") from None
    if f"wrk debian/{WRK_VERSION}" not in version.stdout + version.stderr:
        raise SystemExit(f"wrk {WRK_VERSION} is pinned: apt-get install -y {WRK_PACKAGE}")


# --- CPU quietness -----------------------------------------------------------------------------


class CpuMeter:
    """How much of the CPUs processes other than ours used between two snapshots.

    Ours: the process groups of our gunicorns (with the workers they restarted and reaped) and
    of this script (with wrk), and the PostgreSQL backends of our database. This is a shared
    2-core machine: a test suite running beside the benchmark halves its numbers.
    """

    def __init__(self, groups: set[int], database: str) -> None:
        self.groups, self.backend = groups, f" {database} "

    def snapshot(self) -> tuple[int, int, int, dict[int, int]]:
        groups, backends = 0, {}
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) in self.groups:  # pgrp; utime, stime, cutime, cstime
                    groups += sum(int(x) for x in fields[11:15])
                elif self.backend in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    backends[int(proc.name)] = int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
        cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(cpu) - cpu[3] - cpu[4], sum(cpu), groups, backends  # busy: not idle, iowait

    def other_share(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> float:
        ours = (b[2] - a[2]) + sum(ticks - a[3].get(pid, 0) for pid, ticks in b[3].items())
        return max(0.0, ((b[0] - a[0]) - ours) / max(1, b[1] - a[1]))

    def idle_share(self, seconds: float = 2.0) -> float:
        before = self.snapshot()
        time.sleep(seconds)
        return self.other_share(before, self.snapshot())


def wait_until_quiet(opts: argparse.Namespace, deadline: Deadline, meter: CpuMeter) -> float:
    """Wait (up to --quiet-wait s) until other processes leave the CPUs nearly idle."""
    give_up = time.monotonic() + opts.quiet_wait
    while True:
        share = meter.idle_share()
        if share <= opts.quiet or time.monotonic() > give_up:
            return share
        deadline.check()
        log(f"waiting: other processes keep the CPUs {share:.0%} busy")
        time.sleep(3)


# --- Databases ---------------------------------------------------------------------------------


@contextmanager
def scratch_database(postgres: str, name: str) -> Iterator[str]:
    """A fresh database ``name`` on the server ``postgres``, dropped on the way out (yields its
    URL); the drop forces out connections our gunicorns may have left behind."""
    server_url = postgres.rstrip("/")
    admin = psycopg.connect(f"{server_url}/postgres", autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server_url}/{name}"
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


def run_flask(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run(  # noqa: S603
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def seed_database(database_url: str, users: int, articles: int) -> tuple[float, float, str]:
    """Run the migrations and ``flask seed`` with development settings.

    Returns the seed's own time as it reports it, the wall time including the app's start-up,
    and its "inserted ..." line.
    """
    dev_env = os.environ | {
        "APP_ENV": "development",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }
    run_flask(dev_env, "db", "upgrade")
    started = time.perf_counter()
    seeded = run_flask(
        dev_env, "seed", "--users", str(users), "--articles", str(articles), "--seed", str(SEED)
    )
    seed_wall = time.perf_counter() - started
    seed_inner = float(re.search(r"seeded in ([\d.]+) s", seeded).group(1))  # type: ignore[union-attr]
    inserted = next(x for x in seeded.splitlines() if x.startswith("inserted "))
    return seed_inner, seed_wall, inserted


def delete_rate_limit_keys(redis_url: str, prefix: str) -> int:
    """Delete a run's rate-limit counters, the limiter's keys under ``prefix`` and nothing else
    (the Redis is shared); returns how many there were."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"*/{prefix}/*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        return len(keys)
    finally:
        client.close()


# --- Servers -----------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(method: str, url: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - 127.0.0.1
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read()[:300]


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of both gunicorns, the app's and the reference's alike."""
    return os.environ | {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "CORS_ORIGINS": "http://127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": "2",
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_LOGLEVEL": "info",  # gunicorn's own lines: counts worker (re)boots
    }


class Server:
    """One gunicorn (ops/gunicorn.conf.py) in its own process group, logging to a file."""

    def __init__(
        self, name: str, spec: str, env: dict[str, str], workdir: Path, extra: list[str]
    ) -> None:
        self.name, self.spec, self.extra = name, spec, extra
        self.port = free_port()
        self.env = env | {"BIND": f"127.0.0.1:{self.port}"}
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str) -> None:
        with self.log_path.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603
                [str(BIN / "gunicorn"), "-c", "ops/gunicorn.conf.py", *self.extra, self.spec],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        give_up = time.monotonic() + 30
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited at start:\n{self.log_tail()}")
            try:
                if http("GET", self.url + ready_path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.name} did not answer {ready_path} in 30 s:\n{self.log_tail()}")

    def worker_boots(self) -> int:
        return self.log_path.read_text(errors="replace").count("Booting worker")

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # the group we started: master and workers
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@contextmanager
def stopped_on_exit(*servers: Server) -> Iterator[None]:
    """Stop every one of ``servers`` (those started) on the way out, errors included."""
    try:
        yield
    finally:
        for server in servers:
            server.stop()


# --- wrk ---------------------------------------------------------------------------------------


def wrk(
    server: Server, scenario: Scenario, seconds: float, opts: argparse.Namespace, workdir: Path
) -> Measurement:
    requests_file = workdir / f"{scenario.key}.txt"
    requests_file.write_text("\n".join(scenario.requests) + "\n")
    env = os.environ | {
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_TOKENS": ",".join(scenario.tokens),
    }
    command = ["wrk", "-t", str(opts.threads), "-c", str(opts.connections)]
    command += ["-d", f"{int(seconds)}s", "--timeout", "5s", "-s", str(LUA), server.url]
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=seconds + 60
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed on {scenario.label}:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Measurement(
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=errors,
        requests=raw["requests"],
    )


def measure(
    server: Server,
    scenario: Scenario,
    opts: argparse.Namespace,
    deadline: Deadline,
    meter: CpuMeter,
    workdir: Path,
) -> Measurement:
    """One measurement of ``scenario``: wait for quiet CPUs, warm up, measure; measure again
    (up to --retries times) when other processes used more than --quiet meanwhile, keeping the
    last."""
    for attempt in range(1 + opts.retries):
        deadline.check()
        busy_before = wait_until_quiet(opts, deadline, meter)
        wrk(server, scenario, opts.warmup, opts, workdir)
        start = meter.snapshot()
        measured = wrk(server, scenario, opts.duration, opts, workdir)
        measured.busy_before = busy_before
        measured.busy_during = meter.other_share(start, meter.snapshot())
        log(
            f"{scenario.label}: {measured.rps:.0f} req/s, p50 {measured.p50_ms:.1f} ms,"
            f" p99 {measured.p99_ms:.1f} ms, errors {measured.errors}; other processes"
            f" used {measured.busy_before:.0%} of the CPUs before,"
            f" {measured.busy_during:.0%} during"
        )
        if measured.busy_during <= opts.quiet:
            break
        if attempt < opts.retries:
            log("disturbed: measuring again")
    return measured
