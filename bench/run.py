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

This file is the command line and the order of a pass; bench/harness.py runs the databases,
servers and wrk, bench/scenarios.py says what is measured, bench/report.py writes the results.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/run.py): sys.path has bench/, not the root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
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
    server_env,
    stopped_on_exit,
)
from bench.report import README, report, write_readme
from bench.scenarios import (
    add_last_page_cursor,
    choose_data,
    login,
    references,
    sanity_check,
    scenarios,
)
from config import get_config


def run_pass(
    articles: int, opts: argparse.Namespace, deadline: Deadline, workdir: Path
) -> dict[str, Any]:
    """One data size: database, seed, both servers, every route ``--rounds`` times; cleaned up
    on the way out whatever happens."""
    users = max(100, articles // 100)
    name = f"conduit_bench_{os.getpid()}_{articles}"
    with scratch_database(opts.postgres, name) as database_url:
        log(f"{articles} articles: migrating and seeding {name}")
        seed_inner, seed_wall, inserted = seed_database(database_url, users, articles)
        log(f"seeded in {seed_inner:.1f} s ({seed_wall:.1f} s with start-up): {inserted}")

        env = server_env(database_url, opts.redis) | settings(opts)
        extra = opts.gunicorn_args.split()
        app = Server("app", "wsgi:app", env, workdir, extra)
        ref = Server("reference", "bench.reference_app:app", env, workdir, extra)
        servers = [app, ref]
        with stopped_on_exit(*servers):
            app.start("/ping")
            ref.start("/json")
            data = choose_data(database_url, opts.threads)
            wanted = set(opts.only.split(",")) if opts.only else None
            if wanted is None or "deep_cursor" in wanted:
                add_last_page_cursor(app, data)
            reader = login(app, data["reader"])
            fans = [login(app, email) for email in data["fans"]]
            plan = scenarios(data, reader, fans, opts.connections)
            if wanted is not None:
                plan = [scenario for scenario in plan if scenario.key in wanted]
            refs = references(get_config(environ=env).RATELIMIT_ENABLED)  # as the servers read it
            by_server = {"app": app, "ref": ref}
            groups = {os.getpgrp(), *(server.process.pid for server in servers if server.process)}
            meter = CpuMeter(groups, name)
            results: dict[str, list[Measurement]] = {}
            per_round = len(refs) + len(plan)
            for number, scenario in enumerate([*refs, *plan] * opts.rounds + refs):
                server = by_server[scenario.server]
                if number % per_round == 0 and number < per_round * opts.rounds:
                    log(f"round {number // per_round + 1} of {opts.rounds}")
                sanity_check(server, scenario)
                measured = measure(server, scenario, opts, deadline, meter, workdir)
                results.setdefault(scenario.key, []).append(measured)
            return {
                "articles": articles,
                "users": users,
                "seed_inner": seed_inner,
                "seed_wall": seed_wall,
                "inserted": inserted,
                "data": {
                    k: data[k]
                    for k in ("reader_follows", "feed_size", "tag", "author", "favoriter")
                },
                "plan": plan,
                "references": refs,
                "results": results,
                "boots": {server.name: server.worker_boots() for server in servers},
            }


def settings(opts: argparse.Namespace) -> dict[str, str]:
    """``--setting KEY=VALUE`` pairs, for both servers, over the harness's defaults."""
    pairs = [item.split("=", 1) for item in opts.setting]
    if any(len(pair) != 2 or not pair[0] for pair in pairs):
        raise SystemExit("bench: --setting takes KEY=VALUE")
    return dict(pairs)  # type: ignore[arg-type]


def forget_rate_limits(opts: argparse.Namespace) -> None:
    """Delete the counters a run with limits on left in Redis: its own key prefix only."""
    prefix = settings(opts).get("RATELIMIT_KEY_PREFIX")
    if prefix:
        delete_rate_limit_keys(opts.redis, prefix)


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
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for both servers over the defaults (repeatable), e.g. LOG_LEVEL=INFO",
    )
    parser.add_argument(
        "--only", default="", help="comma-separated app routes to measure (keys in scenarios.py)"
    )
    parser.add_argument("--no-readme", action="store_true", help="print the tables only")
    parser.add_argument("--readme-block", default="results", help="which README block to rewrite")
    opts = parser.parse_args()
    if not opts.postgres.startswith("postgresql://127.0.0.1") and "@127.0.0.1" not in opts.postgres:
        raise SystemExit("bench: --postgres must be on 127.0.0.1")
    check_tools()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    # Quoted as a shell would need it, so the command written into the README can be rerun
    # as is (``--gunicorn-args '--max-requests 0'`` is one argument).
    command = ".venv/bin/python bench/run.py " + shlex.join(sys.argv[1:])
    deadline = Deadline(opts.max_minutes)
    with tempfile.TemporaryDirectory(prefix="conduit-bench-") as workdir:
        try:
            passes = [run_pass(n, opts, deadline, Path(workdir)) for n in opts.articles]
        finally:
            forget_rate_limits(opts)
    text = report(passes, opts, command.strip())
    print(text)
    if not opts.no_readme:
        write_readme(text, opts.readme_block)
        log(f"written to {README.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
