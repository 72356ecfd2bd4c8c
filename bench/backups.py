"""Backup and restore times, sizes and memory at 1k and 100k articles (docs/BACKUP_RESTORE.md).

    .venv/bin/python bench/backups.py [--postgres URL] [--sizes 1000,100000]

For each size and backend (PostgreSQL on a scratch database of the server, SQLite in a temporary
directory) it runs the migrations and ``flask seed``, then ``flask backup create``, ``verify``
and ``restore --yes`` as an operator does (separate processes, production settings), and prints
one Markdown table: wall time of each command (the app's ~1 s start-up included), backup size,
and the command's peak resident memory (``wait4``: the largest of the process and the
pg_dump/pg_restore it ran), which must not grow with the database.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, scratch_database, seed_database


def timed_flask(env: dict[str, str], *args: str) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MiB and stdout of ``flask --app wsgi <args>``."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{stdout}\n{stderr}")
    return elapsed, usage.ru_maxrss // 1024, stdout


def measure(database_url: str, articles: int, backup_dir: Path) -> dict[str, object]:
    users = max(100, articles // 100)
    _, seed_wall, inserted = seed_database(database_url, users, articles)
    env = os.environ | {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "BACKUP_DIR": str(backup_dir),
        "LOG_LEVEL": "WARNING",
    }
    create_s, create_mib, out = timed_flask(env, "backup", "create")
    name = out.strip().splitlines()[-1]
    manifest = json.loads((backup_dir / f"{name}.json").read_text())
    verify_s, verify_mib, _ = timed_flask(env, "backup", "verify", name)
    restore_s, restore_mib, _ = timed_flask(env, "backup", "restore", name, "--yes")
    return {
        "articles": articles,
        "inserted": inserted,
        "seed_s": seed_wall,
        "rows": sum(manifest["row_counts"].values()),
        "size_mib": manifest["size"] / 2**20,
        "create_s": create_s,
        "verify_s": verify_s,
        "restore_s": restore_s,
        "peak_mib": max(create_mib, verify_mib, restore_mib),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--sizes", default="1000,100000")
    opts = parser.parse_args()
    results = []
    for articles in [int(size) for size in opts.sizes.split(",")]:
        name = f"conduit_backup_bench_{uuid.uuid4().hex[:8]}"
        with scratch_database(opts.postgres, name) as url, tempfile.TemporaryDirectory() as tmp:
            results.append(("PostgreSQL", measure(url, articles, Path(tmp) / "backups")))
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            results.append(("SQLite", measure(url, articles, Path(tmp) / "backups")))
    print("| database | articles | rows | backup size | create | verify | restore | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for backend, r in results:
        print(
            f"| {backend} | {r['articles']:,} | {r['rows']:,} | {r['size_mib']:.1f} MiB "
            f"| {r['create_s']:.1f} s | {r['verify_s']:.1f} s | {r['restore_s']:.1f} s "
            f"| {r['peak_mib']} MiB |"
        )
    for backend, r in results:
        print(f"{backend} {r['articles']:,}: {r['inserted']} (seeded in {r['seed_s']:.1f} s)")


if __name__ == "__main__":
    main()
