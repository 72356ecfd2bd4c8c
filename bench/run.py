"""Benchmark the API against a bare reference app, both served by the same gunicorn settings.

    .venv/bin/python bench/run.py                       # 1k then 100k articles; updates README.md
    .venv/bin/python bench/run.py --articles 1000 --duration 5 --no-readme     # a quick look

For each data size: a fresh PostgreSQL database, the migrations, ``flask seed``; then gunicorn
(ops/gunicorn.conf.py, WEB_CONCURRENCY=2, rate limits off, LOG_LEVEL=WARNING) serving the app,
and likewise bench/reference_app.py on another port; wrk (Debian's 4.1.0, pinned) drives each
route for a fixed time at a fixed concurrency, on 127.0.0.1 only, in several rounds (the
tables give medians); the reference routes are measured in every round and once more at the
end. Everything it starts is
stopped and every database it creates is dropped, also on errors, Ctrl-C and SIGTERM; each step
has a timeout and the whole run a deadline (--max-minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # run with the project's .venv/bin/python
LUA = ROOT / "bench" / "wrk.lua"
README = ROOT / "bench" / "README.md"
WRK_VERSION, WRK_PACKAGE = "4.1.0", "wrk=4.1.0-3+b2"
SEED = 42
PASSWORD = "password123"  # noqa: S105 - the seeded development data's printed password


@dataclass
class Scenario:
    key: str
    label: str
    server: str  # "app" or "ref"
    requests: list[str]  # "METHOD PATH", sent in turn
    tokens: list[str] = field(default_factory=list)  # one per wrk thread; none: anonymous
    reference: str | None = None  # key of the reference scenario
    target: float | None = None  # minimum share of the reference's req/s


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


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


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


def sanity_check(server: Server, scenario: Scenario) -> None:
    """Every request kind answers 200 before it is measured (a fast 404 is no result)."""
    token = scenario.tokens[0] if scenario.tokens else None
    for line in dict.fromkeys([scenario.requests[0], scenario.requests[-1]]):
        method, path = line.split(" ", 1)
        status, body = http(method, server.url + path, token)
        if status != 200:
            raise SystemExit(f"{scenario.label}: {line} answered {status}: {body!r}")


def choose_data(database_url: str, threads: int) -> dict[str, Any]:
    with psycopg.connect(database_url) as connection:
        connection.execute("SELECT setseed(0.42)")
        reader_id, reader_email, follows = connection.execute(
            "SELECT u.id, u.email, count(*) FROM users u JOIN follows f ON f.follower_id = u.id"
            " GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1"
        ).fetchone()
        fans = connection.execute(
            "SELECT id, email FROM users WHERE id <> %s ORDER BY id LIMIT %s", (reader_id, threads)
        ).fetchall()

        def slugs(where: str, params: tuple[Any, ...] = (), limit: int = 1000) -> list[str]:
            query = f"SELECT slug FROM articles a WHERE {where} ORDER BY random() LIMIT {limit}"  # noqa: S608
            return [row[0] for row in connection.execute(query, params)]  # type: ignore[arg-type]

        feed_size = connection.execute(
            "SELECT count(*) FROM articles WHERE author_id IN"
            " (SELECT followee_id FROM follows WHERE follower_id = %s)",
            (reader_id,),
        ).fetchone()[0]
        return {
            "reader": reader_email,
            "reader_follows": follows,
            "feed_size": feed_size,
            "fans": [email for _id, email in fans],
            "slugs": slugs("true"),
            "commented": slugs("EXISTS (SELECT 1 FROM comments c WHERE c.article_id = a.id)"),
            "unfavorited": slugs(
                "NOT EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = a.id"
                " AND f.user_id = ANY(%s))",
                ([fan_id for fan_id, _email in fans],),
                limit=500,
            ),
        }


def login(server: Server, email: str) -> str:
    status, body = http(
        "POST",
        server.url + "/api/users/login",
        body={"user": {"email": email, "password": PASSWORD}},
    )
    if status != 200:
        raise SystemExit(f"login as {email} failed: {status} {body!r}")
    return body["user"]["token"]


def scenarios(
    data: dict[str, Any], reader: str, fans: list[str], connections: int
) -> list[Scenario]:
    slugs, commented, unfavorited = data["slugs"], data["commented"], data["unfavorited"]
    # Each POST favorites an article the user has not favorited, and each DELETE takes back one
    # favorited ``lag`` requests earlier: real writes every time, in every round, and never the
    # same article in flight twice (a wrk thread has fewer connections than ``lag``).
    lag, favorites = max(32, connections), []
    for i in range(len(unfavorited) + lag):
        if i < len(unfavorited):
            favorites.append(f"POST /api/articles/{unfavorited[i]}/favorite")
        if i >= lag:
            favorites.append(f"DELETE /api/articles/{unfavorited[i - lag]}/favorite")

    def app(
        key: str, label: str, requests: list[str], tokens: list[str], target: float | None
    ) -> Scenario:
        reference = "json" if key == "ping" else "select1"
        return Scenario(key, label, "app", requests, tokens, reference, target)

    return [
        app("ping", "GET /ping (whole middleware stack)", ["GET /ping"], [], 0.70),
        app("list", "GET /api/articles (anonymous)", ["GET /api/articles"], [], 0.15),
        app(
            "list_auth", "GET /api/articles (authenticated)", ["GET /api/articles"], [reader], 0.15
        ),
        app("feed", "GET /api/articles/feed", ["GET /api/articles/feed"], [reader], 0.15),
        app(
            "article",
            "GET /api/articles/:slug",
            [f"GET /api/articles/{s}" for s in slugs],
            [],
            0.40,
        ),
        app(
            "comments",
            "GET /api/articles/:slug/comments",
            [f"GET /api/articles/{s}/comments" for s in commented],
            [],
            0.40,
        ),
        app("tags", "GET /api/tags", ["GET /api/tags"], [], 0.60),
        app("favorite", "POST, DELETE /api/articles/:slug/favorite", favorites, fans, None),
    ]


def run_pass(
    articles: int, opts: argparse.Namespace, deadline: Deadline, workdir: Path
) -> dict[str, Any]:
    users = max(100, articles // 100)
    name = f"conduit_bench_{os.getpid()}_{articles}"
    server_url = opts.postgres.rstrip("/")
    database_url = f"{server_url}/{name}"
    admin = psycopg.connect(f"{server_url}/postgres", autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    servers: list[Server] = []
    try:
        dev_env = os.environ | {
            "APP_ENV": "development",
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
        }
        log(f"{articles} articles: migrating and seeding {name}")
        run_flask(dev_env, "db", "upgrade")
        started = time.perf_counter()
        seeded = run_flask(
            dev_env, "seed", "--users", str(users), "--articles", str(articles), "--seed", str(SEED)
        )
        seed_wall = time.perf_counter() - started
        seed_inner = float(re.search(r"seeded in ([\d.]+) s", seeded).group(1))  # type: ignore[union-attr]
        inserted = next(x for x in seeded.splitlines() if x.startswith("inserted "))
        log(f"seeded in {seed_inner:.1f} s ({seed_wall:.1f} s with start-up): {inserted}")

        server_env = os.environ | {
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "JWT_SECRET_KEY": secrets.token_urlsafe(48),
            "CORS_ORIGINS": "http://127.0.0.1",
            "DATABASE_URL": database_url,
            "REDIS_URL": opts.redis,
            "WEB_CONCURRENCY": "2",
            "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_LOGLEVEL": "info",  # gunicorn's own lines: counts worker (re)boots
        }
        extra = opts.gunicorn_args.split()
        app = Server("app", "wsgi:app", server_env, workdir, extra)
        ref = Server("reference", "bench.reference_app:app", server_env, workdir, extra)
        servers += [app, ref]
        app.start("/ping")
        ref.start("/json")
        data = choose_data(database_url, opts.threads)
        reader = login(app, data["reader"])
        fans = [login(app, email) for email in data["fans"]]
        plan = scenarios(data, reader, fans, opts.connections)
        references = [
            Scenario("json", "reference: bare JSON", "ref", ["GET /json"]),
            Scenario("select1", "reference: pooled SELECT 1", "ref", ["GET /select1"]),
        ]
        by_server = {"app": app, "ref": ref}
        groups = {os.getpgrp(), *(server.process.pid for server in servers if server.process)}
        meter = CpuMeter(groups, name)
        results: dict[str, list[Measurement]] = {}
        per_round = len(references) + len(plan)
        for number, scenario in enumerate([*references, *plan] * opts.rounds + references):
            server = by_server[scenario.server]
            if number % per_round == 0 and number < per_round * opts.rounds:
                log(f"round {number // per_round + 1} of {opts.rounds}")
            sanity_check(server, scenario)
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
            results.setdefault(scenario.key, []).append(measured)
        return {
            "articles": articles,
            "users": users,
            "seed_inner": seed_inner,
            "seed_wall": seed_wall,
            "inserted": inserted,
            "data": {k: data[k] for k in ("reader_follows", "feed_size")},
            "plan": plan,
            "references": references,
            "results": results,
            "boots": {server.name: server.worker_boots() for server in servers},
        }
    finally:
        for server in servers:
            server.stop()
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


def summary(results: dict[str, list[Measurement]], key: str) -> Measurement:
    """The medians of the rounds (the worst of the CPU shares others used)."""
    runs = results[key]
    return Measurement(
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
        requests=sum(r.requests for r in runs),
        busy_before=max(r.busy_before for r in runs),
        busy_during=max(r.busy_during for r in runs),
    )


def busy(m: Measurement) -> str:
    return f"{m.busy_before:.0%} / {m.busy_during:.0%}"


def spread(runs: list[Measurement]) -> str:
    return f"{min(r.rps for r in runs):.0f}-{max(r.rps for r in runs):.0f}"


def pass_table(result: dict[str, Any]) -> list[str]:
    results = result["results"]
    rows = [
        "| route | req/s | req/s range | p50 ms | p99 ms | errors | ratio to reference | target"
        " | met | other CPU before / during |",
        "|---|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    for scenario in result["references"]:
        m = summary(results, scenario.key)
        rows.append(
            f"| {scenario.label} | {m.rps:.0f} | {spread(results[scenario.key])}"
            f" | {m.p50_ms:.1f} | {m.p99_ms:.1f} | {m.errors} | | | | {busy(m)} |"
        )
    names = {s.key: s.label.removeprefix("reference: ") for s in result["references"]}
    for scenario in result["plan"]:
        m, ref = summary(results, scenario.key), summary(results, scenario.reference)
        ratio = m.rps / ref.rps
        target = f">= {scenario.target:.0%}" if scenario.target else "-"
        met = "-" if scenario.target is None else ("yes" if ratio >= scenario.target else "**no**")
        rows.append(
            f"| {scenario.label} | {m.rps:.0f} | {spread(results[scenario.key])}"
            f" | {m.p50_ms:.1f} | {m.p99_ms:.1f} | {m.errors}"
            f" | {ratio:.1%} of {names[scenario.reference]} | {target} | {met} | {busy(m)} |"
        )
    return rows


def scaling_table(small: dict[str, Any], large: dict[str, Any], limit: float) -> list[str]:
    rows = [
        f"| route | p50 ms {small['articles']:,} | p50 ms {large['articles']:,} | x"
        f" | p99 ms {small['articles']:,} | p99 ms {large['articles']:,} | x"
        f" | within {limit}x |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    labels = {s.key: s.label for s in small["plan"]}
    for key in ("list", "list_auth", "feed"):
        a, b = summary(small["results"], key), summary(large["results"], key)
        p50, p99 = b.p50_ms / a.p50_ms, b.p99_ms / a.p99_ms
        met = "yes" if max(p50, p99) <= limit else "**no**"
        rows.append(
            f"| {labels[key]} | {a.p50_ms:.1f} | {b.p50_ms:.1f} | {p50:.2f}"
            f" | {a.p99_ms:.1f} | {b.p99_ms:.1f} | {p99:.2f} | {met} |"
        )
    return rows


def report(passes: list[dict[str, Any]], opts: argparse.Namespace, command: str) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - read-only queries
            ["git", "-C", str(ROOT), *args],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    if git("status", "--porcelain", "--untracked-files=no", "--", "app", "config.py", "ops"):
        commit += " + uncommitted changes"
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on commit `{commit}`"
        f" ({os.cpu_count()} cores; load average at the end"
        f" {' / '.join(f'{x:.1f}' for x in os.getloadavg())}), with:",
        "",
        "```sh",
        command,
        "```",
        "",
        f"wrk {WRK_VERSION}: {opts.threads} threads, {opts.connections} connections,"
        f" {opts.duration:g} s per measurement after {opts.warmup:g} s of warm-up, {opts.rounds}"
        " rounds through all routes (medians; the reference routes once more at the end);"
        " gunicorn"
        f" `{' '.join(['-c ops/gunicorn.conf.py', *opts.gunicorn_args.split()])}`"
        " (gthread, 2 workers x 4 threads), APP_ENV=production,"
        " RATELIMIT_ENABLED=false, LOG_LEVEL=WARNING, for the app and the reference alike.",
    ]
    for result in passes:
        feed = result["data"]
        lines += [
            "",
            f"### {result['articles']:,} articles, {result['users']:,} users",
            "",
            f"Seeded (`flask seed --seed {SEED}`) in {result['seed_inner']:.1f} s"
            f" ({result['seed_wall']:.1f} s with the app's start-up): {result['inserted']}."
            f" Feed reader follows {feed['reader_follows']} authors"
            f" ({feed['feed_size']:,} feed articles). Worker boots during the pass:"
            f" app {result['boots']['app']}, reference {result['boots']['reference']}.",
            "",
            *pass_table(result),
        ]
    if len(passes) >= 2:
        small, large = passes[0], passes[-1]
        lines += [
            "",
            f"### Latency at {large['articles']:,} vs {small['articles']:,} articles",
            "",
            *scaling_table(small, large, 1.5),
        ]
    return "\n".join(lines)


def write_readme(text: str, name: str) -> None:
    """Replace the README's block ``name`` (between its two markers), or append it."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    current = README.read_text() if README.exists() else "# Benchmark\n"
    block = f"{start}\n{text}\n{end}"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        updated = before + block + rest.split(end, 1)[1]
    else:
        updated = current.rstrip("\n") + f"\n\n## {name}\n\n" + block + "\n"
    README.write_text(updated)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before each one")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per route (median)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--max-minutes", type=float, default=60)
    parser.add_argument(
        "--gunicorn-args",
        default="",
        help="extra gunicorn options for both, e.g. '--max-requests 0'",
    )
    parser.add_argument(
        "--quiet", type=float, default=0.15, help="CPU share other processes may use (0-1)"
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=120, help="seconds to wait for that per route"
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="measure again when others used more than that"
    )
    parser.add_argument("--no-readme", action="store_true", help="print the tables only")
    parser.add_argument("--readme-block", default="results", help="which README block to rewrite")
    opts = parser.parse_args()
    if not opts.postgres.startswith("postgresql://127.0.0.1") and "@127.0.0.1" not in opts.postgres:
        raise SystemExit("bench: --postgres must be on 127.0.0.1")
    check_tools()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    command = ".venv/bin/python bench/run.py " + " ".join(sys.argv[1:])
    deadline = Deadline(opts.max_minutes)
    with tempfile.TemporaryDirectory(prefix="conduit-bench-") as workdir:
        passes = [run_pass(n, opts, deadline, Path(workdir)) for n in opts.articles]
    text = report(passes, opts, command.strip())
    print(text)
    if not opts.no_readme:
        write_readme(text, opts.readme_block)
        log(f"written to {README.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
