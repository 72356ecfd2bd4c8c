"""What each request-pipeline hook costs, in microseconds, on ``GET /ping`` (bench/README.md).

    .venv/bin/python bench/hook_costs.py [--path /ping] [--calls 20000]

The app is built with production settings (random secrets, a throwaway SQLite file, rate limits
off, as bench/run.py serves it) and called through its WSGI entry point in this process, so
neither the network nor gunicorn is measured. Each hook is then taken out of Flask's hook lists
in turn and the request timed again; the difference is the hook's cost. Taking hooks out is
what a measurement may do; the app itself never does.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.test import EnvironBuilder

from app import create_app
from config import CHEAP_PASSWORD_HASHING, get_config


def timer(app: Any, path: str, calls: int) -> Callable[[], float]:
    environ = EnvironBuilder(path=path, base_url="http://127.0.0.1").get_environ()

    def start_response(*_args: Any) -> None:
        return None

    def best_of_five() -> float:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(calls):
                for _chunk in app(dict(environ), start_response):
                    pass
            runs.append((time.perf_counter() - started) / calls * 1e6)
        return min(runs)

    return best_of_five


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", default="/ping")
    parser.add_argument("--calls", type=int, default=20000)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        environ = {
            **os.environ,
            **CHEAP_PASSWORD_HASHING,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "JWT_SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
        }
        app = create_app(get_config("production", environ=environ))
        logging.getLogger().setLevel(logging.WARNING)
        measure = timer(app, opts.path, opts.calls)
        measure()  # warm-up
        whole = measure()
        print(f"| hook on GET {opts.path} | µs per request |\n|---|---:|")
        lists = {"before": app.before_request_funcs, "after": app.after_request_funcs}
        for kind, hooks in lists.items():
            chain = hooks[None]
            for hook in list(chain):
                index = chain.index(hook)
                chain.remove(hook)
                without = measure()
                chain.insert(index, hook)
                name = getattr(hook, "__qualname__", repr(hook))
                print(f"| {kind} `{name}` | {whole - without:.1f} |")
        print(f"| the whole request | {whole:.0f} |")


if __name__ == "__main__":
    main()
