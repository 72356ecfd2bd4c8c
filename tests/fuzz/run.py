"""Schema-driven fuzzing: schemathesis against the served ``/api/openapi.json``.

A fresh PostgreSQL database (dropped at the end), the migrations, gunicorn with
``ops/gunicorn.conf.py`` in production mode with random secrets, two registered users, then
schemathesis with the checks below: every phase (examples, coverage, fuzzing, and the stateful
phase, which follows the document's links), positive and negative data, bounded by
``--max-examples`` and reproducible by ``--seed``. Exit status: schemathesis's (0 only when no
check failed and no warning named in ``schemathesis.toml`` was raised).

Rate limits are off: one client sending thousands of requests would test mostly the limiter's
429 (tests/test_rate_limits.py covers it), not the handlers.

    .venv/bin/python -m tests.fuzz.run [--max-examples N] [--seed N] [-- extra st args]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from config import CHEAP_PASSWORD_HASHING
from tests.fuzz.accounts import register
from tests.serving import GunicornProcess, migrate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery"  # a throwaway account of a throwaway database


def _server_env(database_url: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **inherited,
        **CHEAP_PASSWORD_HASHING,
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": secrets.token_hex(32),
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }


def _database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _admin(server_url: str, statement: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(statement)


def schemathesis_command(base: str, max_examples: int, seed: int, extra: list[str]) -> list[str]:
    return [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{base}/api/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--no-color",
        *extra,
    ]


def fuzz(server_url: str, max_examples: int, seed: int, extra: list[str]) -> int:
    name = f"conduit_fuzz_{os.getpid()}_{secrets.token_hex(4)}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        env = _server_env(_database_url(server_url, name))
        migrate(env)
        with tempfile.TemporaryFile() as server_log:
            server = GunicornProcess(env, workers=2, stderr=server_log)
            server.start()
            try:
                server.wait_ready()
                return _run_schemathesis(server.base, max_examples, seed, extra)
            finally:
                server.stop()
                _show_errors(server_log)
    finally:
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run_schemathesis(base: str, max_examples: int, seed: int, extra: list[str]) -> int:
    main = register(base, "fuzzer", PASSWORD)
    sessions = register(base, "sessions", PASSWORD)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"),
        "FUZZ_BASE_URL": base,
        "FUZZ_TOKEN": main["token"],
        "FUZZ_SESSION_EMAIL": sessions["email"],
        "FUZZ_SESSION_PASSWORD": PASSWORD,
    }
    command = schemathesis_command(base, max_examples, seed, extra)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    cases = re.search(r"Test cases:\s*(\d+)", result.stdout)
    print(
        f"schema fuzzing: {cases[1] if cases else '?'} cases in {elapsed:.1f} s "
        f"(--max-examples {max_examples}, --seed {seed}), schemathesis exit {result.returncode}"
    )
    return result.returncode


def _show_errors(server_log: object) -> None:
    """The server's WARNING and ERROR lines (tracebacks of a 500) go to the run's output."""
    server_log.seek(0)  # type: ignore[attr-defined]
    text = server_log.read().decode(errors="replace")  # type: ignore[attr-defined]
    if text.strip():
        print("--- gunicorn stderr ---\n" + text[-20000:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--server",
        default=os.environ.get("FUZZ_DATABASE_SERVER_URL", DEFAULT_SERVER),
        help="PostgreSQL server URL; a fresh database is made there and dropped",
    )
    parser.add_argument("extra", nargs="*", help="more schemathesis arguments (after --)")
    args = parser.parse_args(argv)
    return fuzz(args.server, args.max_examples, args.seed, args.extra)


if __name__ == "__main__":
    sys.exit(main())
