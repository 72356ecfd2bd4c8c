"""Python function calls per request, per route and per pipeline hook (bench/README.md).

    .venv/bin/python bench/call_counts.py [--requests 200]

A count, not a time: it is the same on an idle machine and a busy one, so two commits can be
compared in one session whatever else runs (wall-clock figures come from bench/run.py). The app
is built with production settings on a throwaway SQLite file seeded by ``flask seed`` and called
through its WSGI entry point under cProfile. Each request hook is then taken out of Flask's hook
lists in turn and the requests profiled again; the difference is that hook's share. Taking hooks
out is what a measurement may do; the app itself never does. Settings go through the
environment, so the script also runs on older commits (checked out in a worktree).
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.test import EnvironBuilder

ROUTES = ("/ping", "/api/tags", "/api/articles/{slug}", "/api/articles/{slug}/comments")


def counter(app: Any, path: str, requests: int) -> Callable[[], float]:
    environ = EnvironBuilder(path=path, base_url="http://127.0.0.1").get_environ()

    def start_response(*_args: Any) -> None:
        return None

    def calls_per_request() -> float:
        for _chunk in app(dict(environ), start_response):  # warm: caches filled, lazy imports done
            pass
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(requests):
            for _chunk in app(dict(environ), start_response):
                pass
        profile.disable()
        return pstats.Stats(profile).total_calls / requests

    return calls_per_request


def build_app(tmp: str) -> Any:
    os.environ.update(
        {
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "JWT_SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "PASSWORD_HASH_TIME_COST": "1",
            "PASSWORD_HASH_MEMORY_COST": "8",
            "PASSWORD_HASH_PARALLELISM": "1",
        }
    )
    from app import create_app

    app = create_app("production")
    logging.getLogger().setLevel(logging.WARNING)
    runner = app.test_cli_runner()
    for args in (
        ["db", "upgrade"],
        ["seed", "--force", "--seed", "42", "--users", "20", "--articles", "50"],
    ):
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise SystemExit(f"flask {' '.join(args)} failed: {result.output}")
    return app


def first_slug(app: Any) -> str:
    with app.test_client() as client:
        slug: str = client.get("/api/articles?limit=1").get_json()["articles"][0]["slug"]
        return slug


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(tmp)
        slug = first_slug(app)
        paths = [route.format(slug=slug) for route in ROUTES]
        counts = {path: counter(app, path, opts.requests) for path in paths}
        print("| route | calls per request |\n|---|---:|")
        for route, path in zip(ROUTES, paths, strict=True):
            print(f"| GET {route} | {counts[path]():.0f} |")
        print("\n| hook on GET /ping | calls per request |\n|---|---:|")
        ping = counts["/ping"]
        whole = ping()
        lists = {"before": app.before_request_funcs, "after": app.after_request_funcs}
        for kind, hooks in lists.items():
            chain = hooks.get(None, [])
            for hook in list(chain):
                index = chain.index(hook)
                chain.remove(hook)
                without = ping()
                chain.insert(index, hook)
                name = getattr(hook, "__qualname__", repr(hook))
                print(f"| {kind} `{name}` | {whole - without:.0f} |")


if __name__ == "__main__":
    main()
