"""One gunicorn instance behind nginx vs two, on this machine: does a second instance add
throughput, and does anything shared get in the way?

    .venv/bin/python bench/instances.py               # ~6 minutes; rewrites bench/README.md's block
    .venv/bin/python bench/instances.py --duration 5 --rounds 1 --no-readme    # a quick look

A fresh seeded database (1,000 articles); two gunicorn instances (ops/gunicorn.conf.py, each
2 workers x 4 threads, production settings, rate limits on in the shared Redis under a private
prefix with the read/write budgets raised); two nginx (the distribution's binary) serving
ops/nginx.conf rendered by ops/render_nginx.py with a throwaway certificate, one with instance
A as its only upstream, one with A and B. wrk measures some of bench/scenarios.py's routes over
HTTPS through each nginx, and against A directly, alternating in ``--rounds`` rounds (medians),
each measurement after a wait for quiet CPUs (bench/harness.py). Then two checks through the
two-instance nginx: both instances served (their own /metrics), and the login limit is one
budget across both (RATELIMIT_LOGIN's 10 a minute: the 11th bad login is a 429 whichever
instance answers). Exit 1 when a check fails or a measurement had errors.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

if not __package__:  # run as a script: sys.path has bench/, not the root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    CpuMeter,
    Deadline,
    Measurement,
    Server,
    check_tools,
    delete_rate_limit_keys,
    log,
    measure,
    scratch_database,
    seed_database,
    stopped_on_exit,
)
from bench.memory import memory_env
from bench.mix import fan_ids
from bench.nginx import Endpoint, certificate, http_status, nginx
from bench.report import measured_with, write_readme
from bench.scenarios import Scenario, login, sanity_check

ROLES = ("app", "postgres", "nginx")
TARGETS = ("direct", "one", "two")
TICK = os.sysconf("SC_CLK_TCK")


def requests_served(server: Server) -> int:
    """Requests an instance has answered, from its own /metrics (127.0.0.1 may read them)."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    counts = re.findall(r"^conduit_http_requests_total\{[^}]*\} ([0-9.e+]+)$", text, re.M)
    return int(sum(float(c) for c in counts))


def open_connections(database_url: str) -> int:
    """Connections to the bench database now, other than this one (pg_stat_activity)."""
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0]) if row else 0


def login_limit_is_shared(endpoint: Endpoint, a: Server, b: Server) -> tuple[bool, str]:
    """12 bad logins through nginx (distinct emails: only the per-address limit applies):
    10 answer 401, then 429, although both instances answered some."""
    before = (requests_served(a), requests_served(b))
    statuses = [
        http_status(
            endpoint.url + "/api/users/login",
            {"user": {"email": f"nobody{n}@example.com", "password": "wrong password"}},
            source="127.0.0.77",  # not 127.0.0.1, whose budget the benchmark's logins spent
        )
        for n in range(12)
    ]
    time.sleep(1.5)  # the metrics are published every second
    spread = (requests_served(a) - before[0], requests_served(b) - before[1])
    ok = statuses == [401] * 10 + [429] * 2 and min(spread) >= 3
    return ok, f"statuses {statuses}; answered by A {spread[0]}, B {spread[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quiet", type=float, default=0.15)
    parser.add_argument("--quiet-wait", type=float, default=120)
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--max-minutes", type=float, default=30)
    parser.add_argument("--no-readme", action="store_true")
    opts = parser.parse_args()
    check_tools()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    command = ".venv/bin/python bench/instances.py " + shlex.join(sys.argv[1:])
    deadline = Deadline(opts.max_minutes)
    name = prefix = f"conduit_bench_inst_{os.getpid()}"
    results: dict[tuple[str, str], list[Measurement]] = {}
    workdir = Path(tempfile.mkdtemp(prefix="conduit-instances-"))
    workdir.chmod(0o755)
    try:
        with scratch_database(opts.postgres, name) as database_url:
            log(f"migrating and seeding {name}")
            seed_database(database_url, 100, 1000)
            env = memory_env(database_url, opts.redis, prefix) | {
                "LOG_LEVEL": "WARNING",  # as bench/run.py, so the figures compare
                "TRUSTED_PROXY_HOPS": "1",
            }
            a = Server("a", "wsgi:app", env, workdir, [])
            b = Server("b", "wsgi:app", env, workdir, [])
            certs = certificate(workdir / "certs")
            with stopped_on_exit(a, b):
                a.start("/ping")
                b.start("/ping")
                upstreams = [a.url.removeprefix("http://"), b.url.removeprefix("http://")]
                with (
                    nginx(upstreams[:1], certs, workdir, "one") as one,
                    nginx(upstreams, certs, workdir, "two") as two,
                ):
                    plan = routes(database_url, a, opts.threads)
                    targets = {"direct": Endpoint("direct", a.url), "one": one, "two": two}
                    cpu = measure_all(plan, targets, (a, b), name, opts, deadline, results, workdir)
                    shared_ok, shared = login_limit_is_shared(two, a, b)
                    held = open_connections(database_url)
                    shared += f"; PostgreSQL connections both instances hold after the run: {held}"
                    boots = (a.worker_boots(), b.worker_boots())
    finally:
        log(f"deleted {delete_rate_limit_keys(opts.redis, prefix)} rate-limit keys of {prefix}")
        shutil.rmtree(workdir, ignore_errors=True)
    text, ok = report(plan, results, cpu, shared_ok, shared, boots, opts, command)
    print(text)
    if not opts.no_readme:
        write_readme(text, "instances")
        log("written to bench/README.md")
    sys.exit(0 if ok and shared_ok else 1)


def routes(database_url: str, server: Server, threads: int) -> list[Scenario]:
    """The routes measured, as bench/scenarios.py measures them: /ping, the anonymous list,
    random single articles, and favorites each taken back 32 favorites later (real writes),
    one seeded user per wrk thread."""
    fans = fan_ids(database_url, threads)
    tokens = [login(server, email) for _id, email in fans]
    with psycopg.connect(database_url) as connection:
        connection.execute("SELECT setseed(0.42)")
        slugs = [r[0] for r in connection.execute("SELECT slug FROM articles ORDER BY random()")]
        unfavorited = [
            row[0]
            for row in connection.execute(
                "SELECT slug FROM articles a WHERE NOT EXISTS (SELECT 1 FROM favorites f"
                " WHERE f.article_id = a.id AND f.user_id = ANY(%s)) ORDER BY random() LIMIT 500",
                ([i for i, _ in fans],),
            )
        ]
    favorites = []
    for i in range(len(unfavorited) + 32):
        if i < len(unfavorited):
            favorites.append(f"POST /api/articles/{unfavorited[i]}/favorite")
        if i >= 32:
            favorites.append(f"DELETE /api/articles/{unfavorited[i - 32]}/favorite")
    return [
        Scenario("ping", "GET /ping", "app", ["GET /ping"]),
        Scenario("list", "GET /api/articles (anonymous)", "app", ["GET /api/articles"]),
        Scenario(
            "article", "GET /api/articles/:slug", "app", [f"GET /api/articles/{s}" for s in slugs]
        ),
        Scenario("favorite", "POST, DELETE /api/articles/:slug/favorite", "app", favorites, tokens),
    ]


def cpu_ticks(app_groups: set[int], database: str) -> dict[str, int]:
    """CPU time used so far (clock ticks) by role: the gunicorns (process groups, reaped
    workers included), the PostgreSQL backends of ``database``, and our nginx processes."""
    ticks = dict.fromkeys(ROLES, 0)
    backend, ours = f" {database} ", os.getpgrp()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            name, rest = (proc / "stat").read_text().rsplit(")", 1)
            fields = rest.split()
            if int(fields[2]) in app_groups:  # pgrp; utime, stime, cutime, cstime
                ticks["app"] += sum(int(x) for x in fields[11:15])
            elif name.endswith("(nginx") and int(fields[2]) == ours:
                ticks["nginx"] += int(fields[11]) + int(fields[12])
            elif backend in (proc / "cmdline").read_bytes().decode(errors="replace"):
                ticks["postgres"] += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return ticks


def measure_all(
    plan: list[Scenario],
    targets: dict[str, Endpoint],
    servers: tuple[Server, Server],
    database: str,
    opts: argparse.Namespace,
    deadline: Deadline,
    results: dict[tuple[str, str], list[Measurement]],
    workdir: Path,
) -> dict[tuple[str, str], list[float]]:
    """Every route against every target, ``--rounds`` times, into ``results``; returns, per
    route and target, the requests each instance answered and the CPU milliseconds per
    request of each role (warm-up included: counted from the instances' /metrics)."""
    a, b = servers
    app_groups = {s.process.pid for s in servers if s.process}
    meter = CpuMeter({os.getpgrp(), *app_groups}, database)
    cpu: dict[tuple[str, str], list[float]] = {}
    for round_number in range(opts.rounds):
        log(f"round {round_number + 1} of {opts.rounds}")
        for scenario in plan:
            for key, target in targets.items():
                if key == "direct":
                    sanity_check(a, scenario)
                served = (requests_served(a), requests_served(b))
                ticks = cpu_ticks(app_groups, database)
                measured = measure(target, scenario, opts, deadline, meter, workdir)  # type: ignore[arg-type]
                results.setdefault((scenario.key, key), []).append(measured)
                time.sleep(1.2)  # the metrics are published every second
                used = cpu_ticks(app_groups, database)
                counts = [requests_served(a) - served[0], requests_served(b) - served[1]]
                ms = [(used[r] - ticks[r]) * 1000 / TICK / max(1, sum(counts)) for r in ROLES]
                totals = cpu.setdefault((scenario.key, key), [0.0] * (2 + len(ROLES)))
                for i, value in enumerate([*counts, *ms]):
                    totals[i] += value / (1 if i < 2 else opts.rounds)
    return cpu


def report(
    plan: list[Scenario],
    results: dict[tuple[str, str], list[Measurement]],
    cpu: dict[tuple[str, str], list[float]],
    shared_ok: bool,
    shared: str,
    boots: tuple[int, int],
    opts: argparse.Namespace,
    command: str,
) -> tuple[str, bool]:
    def median(route: str, key: str) -> Measurement:
        runs = results[(route, key)]
        return sorted(runs, key=lambda m: m.rps)[len(runs) // 2]

    rows, cpu_rows, ok = [], [], True
    balance = [0.0, 0.0]
    for scenario in plan:
        runs = [m for k in TARGETS for m in results[(scenario.key, k)]]
        direct, one, two = (median(scenario.key, k) for k in TARGETS)
        errors = sum(m.errors for m in runs)
        ok = ok and errors == 0
        rows.append(
            f"| {scenario.label} | {direct.rps:.0f} | {one.rps:.0f} | {two.rps:.0f}"
            f" | {two.rps / one.rps:.2f} | {one.p99_ms:.1f} / {two.p99_ms:.1f} | {errors}"
            f" | {max(m.busy_during for m in runs):.0%} |"
        )
        for key in TARGETS:
            a_count, b_count, *ms = cpu[(scenario.key, key)]
            if key == "two":
                balance[0], balance[1] = balance[0] + a_count, balance[1] + b_count
            cpu_rows.append(f"| {scenario.label} | {key} | {' | '.join(f'{x:.2f}' for x in ms)} |")
    spread = min(balance) / max(balance) if max(balance) else 0.0
    text = "\n".join(
        [
            *measured_with(command),
            f"wrk {opts.threads} threads, {opts.connections} connections, {opts.duration} s per"
            f" measurement after {opts.warmup} s of warm-up, {opts.rounds} rounds (medians);"
            " each instance gunicorn `-c ops/gunicorn.conf.py` with 2 workers x 4 threads,"
            " APP_ENV=production, LOG_LEVEL=WARNING, rate limits on in Redis (read/write budgets"
            " raised); nginx with ops/nginx.conf rendered by ops/render_nginx.py (HTTPS,"
            " `worker_processes auto`), all on this machine with PostgreSQL and wrk.",
            "",
            "| route | 1 instance direct req/s | 1 behind nginx | 2 behind nginx | 2 / 1 |"
            " p99 ms 1 / 2 | errors | other CPU during (max) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "CPU time per request (ms, mean over the rounds, warm-up included) by role: the"
            " gunicorn workers, the PostgreSQL backends of the bench database, nginx (wrk,"
            " the rest of the machine's load, is not counted):",
            "",
            "| route | target | app | PostgreSQL | nginx |",
            "|---|---|---:|---:|---:|",
            *cpu_rows,
            "",
            "Requests answered by each instance (their own `/metrics`) during the two-instance"
            f" measurements: A {balance[0]:,.0f}, B {balance[1]:,.0f} (B / A {spread:.2f})."
            f" Login limit across both instances: {'one budget' if shared_ok else '**not shared**'}"
            f" ({shared}). Worker boots: A {boots[0]}, B {boots[1]} (2 each: none recycled).",
        ]
    )
    return text, ok


if __name__ == "__main__":
    main()
