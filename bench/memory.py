"""Is each gunicorn worker's memory flat under load? RSS per worker after 10k and 100k requests.

    .venv/bin/python bench/memory.py                  # ~4 minutes; rewrites bench/README.md's block
    .venv/bin/python bench/memory.py --requests 20000 --no-readme     # a quick look

Production settings (APP_ENV=production with random secrets, ops/gunicorn.conf.py, 2 workers x
4 threads, workers never recycled, JSON request log at INFO into a file, rate limits on in the
shared Redis under a private key prefix deleted afterwards) on a fresh seeded database (1,000
articles); wrk sends the mix of bench/mix.py (reads, writes, error paths) and stops at each
checkpoint (every ``--every`` requests), where every worker's RSS is read. Exit status 1 when
a worker grew by ``--max-growth`` (10%) or more from the first checkpoint to the last, or when
a worker was replaced meanwhile (its memory would no longer be comparable).
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import signal
import sys
import tempfile
from pathlib import Path

import psutil

if not __package__:  # run as a script (python bench/memory.py): sys.path has bench/, not the root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
    Server,
    check_tools,
    delete_rate_limit_keys,
    log,
    scratch_database,
    seed_database,
    server_env,
    stopped_on_exit,
)
from bench.mix import MixRun, build_mix, fan_ids, run_mix
from bench.report import measured_with, write_readme
from bench.scenarios import login

MIB = 1024 * 1024
MAX_RUN = 20  # seconds per wrk run
Samples = dict[int, dict[int, int]]  # requests served -> worker pid -> RSS bytes


def memory_env(database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    """The benchmark's production environment with what this run changes: request logs on,
    rate limits on (shared Redis, private prefix), no recycling. The read and write budgets
    are raised so the mix is served rather than refused; login keeps its production limit, so
    the bad logins of the mix reach the 429 path."""
    return server_env(database_url, redis_url) | {
        "LOG_LEVEL": "INFO",
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_KEY_PREFIX": prefix,
        "RATELIMIT_READ": "100000/second",
        "RATELIMIT_WRITE": "100000/second",
        "GUNICORN_MAX_REQUESTS": "0",
        "GUNICORN_THREADS": "4",
    }


def worker_rss(master_pid: int) -> dict[int, int]:
    """RSS of each worker (the master's children), bytes."""
    return {child.pid: child.memory_info().rss for child in psutil.Process(master_pid).children()}


def drive(
    app: Server, mix_file: Path, tokens: list[str], opts: argparse.Namespace
) -> tuple[Samples, dict[str, int]]:
    """Send the mix up to each checkpoint and read the workers' RSS there."""
    assert app.process is not None
    samples: Samples = {0: worker_rss(app.process.pid)}
    statuses: dict[str, int] = {}
    served, rate = 0, 500.0  # req/s guess until the first run says
    for checkpoint in range(opts.every, opts.requests + 1, opts.every):
        while served < checkpoint:
            need = checkpoint - served
            # wrk idles out its duration after the limit: a short run wastes little
            seconds = min(MAX_RUN, max(3, math.ceil(need / rate * 1.2) + 1))
            run: MixRun = run_mix(
                app.url,
                mix_file,
                tokens,
                threads=opts.threads,
                connections=opts.connections,
                seconds=seconds,
                limit=need,
                start=served // opts.threads,
            )
            served += run.requests
            for status, count in run.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
            if run.requests < need:  # ran out of time: busy all along, so its rate is real
                rate = max(50.0, run.rps)
            if run.socket_errors:
                raise SystemExit(f"wrk: {run.socket_errors} socket errors")
        samples[served] = worker_rss(app.process.pid)
        rss = ", ".join(f"{v / MIB:.1f}" for v in samples[served].values())
        log(f"{served} requests: worker RSS {rss} MiB")
    return samples, statuses


def verdict(samples: Samples, max_growth: float) -> tuple[list[str], bool]:
    """Table rows, one per worker, and whether every worker stayed within ``max_growth``."""
    points = sorted(samples)
    first, last = points[1], points[-1]  # the first checkpoint, not the idle start
    ok, rows = True, []
    workers = set(samples[first])
    if set(samples[last]) != workers:
        ok = False
        rows.append(f"| workers were replaced: {sorted(workers)} -> {sorted(samples[last])} |")
    for number, pid in enumerate(sorted(workers), 1):
        series = [samples[p].get(pid) for p in points]
        start, end = samples[first].get(pid), samples[last].get(pid)
        if start is None or end is None:
            continue
        growth = (end - start) / start
        ok = ok and growth < max_growth
        shown = " / ".join(f"{v / MIB:.1f}" if v else "-" for v in series)
        rows.append(
            f"| worker {number} | {samples[0][pid] / MIB:.1f} | {start / MIB:.1f}"
            f" | {end / MIB:.1f} | {growth:+.1%} | {'yes' if growth < max_growth else '**no**'}"
            f" | {shown} |"
        )
    return rows, ok


def report(
    samples: Samples, statuses: dict[str, int], opts: argparse.Namespace, command: str
) -> tuple[str, bool]:
    points = sorted(samples)
    rows, ok = verdict(samples, opts.max_growth)
    first, last = points[1], points[-1]
    header = (
        f"| worker | RSS MiB idle | at {first:,} | at {last:,} | growth | < {opts.max_growth:.0%}"
        f" | every checkpoint ({', '.join(f'{p // 1000}k' for p in points)}) |"
    )
    mix = ", ".join(f"{code}: {count:,}" for code, count in sorted(statuses.items()))
    text = "\n".join(
        [
            *measured_with(command),
            f"gunicorn `-c ops/gunicorn.conf.py`, {opts.workers} workers x 4 threads,"
            " GUNICORN_MAX_REQUESTS=0, APP_ENV=production, LOG_LEVEL=INFO (the JSON request"
            " log into a file), rate limits on in Redis (read/write budgets raised, login at its"
            f" production limit); 1,000 articles; wrk {opts.threads} threads,"
            f" {opts.connections} connections, the mix of `bench/mix.py`. Responses by status:"
            f" {mix}.",
            "",
            header,
            "|---|---:|---:|---:|---:|---|---|",
            *rows,
            "",
            f"Verdict: {'flat' if ok else '**not flat**'} (growth from {first:,} to {last:,}"
            f" requests below {opts.max_growth:.0%} for every worker: {'yes' if ok else 'no'}).",
        ]
    )
    return text, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000, help="requests between samples")
    parser.add_argument("--articles", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--max-growth", type=float, default=0.10)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    opts = parser.parse_args()
    check_tools()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    command = ".venv/bin/python bench/memory.py " + shlex.join(sys.argv[1:])
    name = f"conduit_bench_mem_{os.getpid()}"
    prefix = f"conduit_bench_mem_{os.getpid()}"
    with (
        tempfile.TemporaryDirectory(prefix="conduit-memory-") as workdir,
        scratch_database(opts.postgres, name) as database_url,
    ):
        try:
            log(f"migrating and seeding {name}")
            seed_database(database_url, max(100, opts.articles // 100), opts.articles)
            env = memory_env(database_url, opts.redis, prefix)
            env["WEB_CONCURRENCY"] = str(opts.workers)
            app = Server("app", "wsgi:app", env, Path(workdir), [])
            with stopped_on_exit(app):
                app.start("/ping")
                fans = fan_ids(database_url, opts.threads)
                tokens = [login(app, email) for _id, email in fans]
                mix_file = Path(workdir) / "mix.txt"
                mix_file.write_text("\n".join(build_mix(database_url, [i for i, _ in fans])))
                samples, statuses = drive(app, mix_file, tokens, opts)
                log(f"worker boots: {app.worker_boots()} (2 expected: none recycled)")
        finally:
            log(f"deleted {delete_rate_limit_keys(opts.redis, prefix)} rate-limit keys of {prefix}")
    text, ok = report(samples, statuses, opts, command)
    print(text)
    if not opts.no_readme:
        write_readme(text, "memory")
        log(f"written to {(ROOT / 'bench' / 'README.md').relative_to(ROOT)}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
