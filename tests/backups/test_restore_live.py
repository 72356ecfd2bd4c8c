"""Restores against a running service, and restores cut short by SIGTERM, with real processes:
gunicorn serving the seeded database, ``flask backup restore`` as a separate process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.backups.conftest import (
    PASSWORD,
    ROOT,
    SeededDatabase,
    admin_execute,
    production_env,
    run_flask,
)
from tests.serving import gunicorn


def call(base: str, path: str, method: str = "GET", body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def created(env: dict[str, str]) -> str:
    result = run_flask("backup", "create", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_restore_while_the_service_serves_gives_503s_or_waits_and_then_serves_the_new_data(
    seeded: SeededDatabase, tmp_path: Path
):
    env = production_env(
        DATABASE_URL=seeded.url, BACKUP_DIR=str(tmp_path), RATELIMIT_ENABLED="false"
    )
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    stop = threading.Event()

    with gunicorn(env, workers=2) as base:
        # Sessions are data too: a token must be older than the backup to survive the restore.
        _, _, login = call(
            base, "/api/users/login", "POST",
            {"user": {"email": "alice@example.com", "password": PASSWORD}},
        )  # fmt: skip
        token = login["user"]["token"]
        name = created(env)
        seeded.execute("DELETE FROM articles WHERE slug <> 'article-0'")  # 3 articles → 1
        assert call(base, "/api/articles", token=token)[2]["articlesCount"] == 1

        def load() -> None:
            while not stop.is_set():
                for path in ("/api/articles", "/api/user"):
                    status, headers, body = call(base, path, token=token)
                    statuses[status] += 1
                    if status == 503 and not (headers.get("Retry-After") and "errors" in body):
                        problems.append(f"503 without Retry-After or JSON errors: {body}")
                    elif status not in (200, 503):
                        problems.append(f"{path} answered {status}: {body}")

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.3)
            restore = run_flask("backup", "restore", name, "--yes", **env)
            time.sleep(0.3)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        after = [call(base, "/api/articles", token=token) for _ in range(20)]

    assert restore.returncode == 0, restore.stderr
    assert problems == []
    assert statuses[200] > 0
    assert {status for status, _, _ in after} == {200}
    assert {body["articlesCount"] for _, _, body in after} == {3}


def wait_for_scratch(
    seeded: SeededDatabase, tmp_dir: Path, process: subprocess.Popen, purpose: str = "restore"
) -> None:
    """Until the command has a scratch copy: a scratch database, or the temporary SQLite file."""
    database = seeded.url.rsplit("/", 1)[1]
    server = seeded.url.rsplit("/", 1)[0] + "/postgres"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if seeded.kind == "postgresql":
            found = admin_execute(
                server,
                f"SELECT 1 FROM pg_database WHERE datname LIKE '{database}\\_\\_{purpose}\\_%'",
            )
        else:
            found = list(tmp_dir.glob("conduit-restore-*/*.sqlite3"))
        if found:
            return
        time.sleep(0.01)
    pytest.fail(f"the {purpose} never made its scratch copy")


def assert_no_scratch_left(seeded: SeededDatabase, tmp_dir: Path) -> None:
    if seeded.kind == "postgresql":
        database = seeded.url.rsplit("/", 1)[1]
        server = seeded.url.rsplit("/", 1)[0] + "/postgres"
        rows = admin_execute(
            server,
            f"SELECT datname, datallowconn FROM pg_database WHERE datname LIKE '{database}%'",
        )
        assert rows == [(database, True)]
    else:
        assert list(tmp_dir.glob("conduit-restore-*")) == []


def add_bulk(seeded: SeededDatabase, rows: int = 30_000) -> None:
    """About 15 MB of comments, so that a restore lasts long enough to be interrupted."""
    numbers = (
        f"SELECT generate_series(1, {rows}) AS i"
        if seeded.kind == "postgresql"
        else f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
        "SELECT i FROM n"
    )
    seeded.execute(
        "INSERT INTO comments (article_id, author_id, body, created_at, updated_at) "
        f"SELECT a.id, a.author_id, '{'x' * 500}', a.created_at, a.created_at "
        f"FROM articles a, ({numbers}) AS numbers WHERE a.slug = 'article-0'"
    )


def backup_process(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "backup", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def restore_process(name: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return backup_process(env, "restore", name, "--yes")


@pytest.fixture
def commands(seeded: SeededDatabase, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment of ``flask backup`` processes on the seeded database, and the
    temporary directory they use (where SQLite's scratch copies appear)."""
    tmp_dir = tmp_path / "tmp"
    tmp_dir.mkdir()
    env = production_env(
        DATABASE_URL=seeded.url, BACKUP_DIR=str(tmp_path / "b"), TMPDIR=str(tmp_dir)
    )
    return env, tmp_dir


def test_sigterm_during_the_restore_keeps_the_old_data_and_drops_the_scratch_copy(
    seeded: SeededDatabase, commands: tuple[dict[str, str], Path]
):
    env, tmp_dir = commands
    add_bulk(seeded)
    name = created(env)
    seeded.execute("DELETE FROM users WHERE username = 'bob'")
    old = seeded.snapshot()

    process = restore_process(name, env)
    wait_for_scratch(seeded, tmp_dir, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "error: interrupted" in stderr
    assert "Traceback" not in stderr
    assert seeded.snapshot() == old
    assert_no_scratch_left(seeded, tmp_dir)


def test_sigterm_during_a_verify_drops_its_scratch_copy(
    seeded: SeededDatabase, commands: tuple[dict[str, str], Path]
):
    env, tmp_dir = commands
    add_bulk(seeded)
    name = created(env)

    process = backup_process(env, "verify", name)
    wait_for_scratch(seeded, tmp_dir, process, purpose="verify")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert_no_scratch_left(seeded, tmp_dir)
    listed = json.loads(run_flask("backup", "list", "--json", **env).stdout)
    assert listed[0]["verified_at"] is None


def run_restore(name: str, env: dict[str, str], stop_after: float | None) -> tuple[int, str, float]:
    """Start a restore; once it says it is replacing the data, wait ``stop_after`` seconds and
    SIGTERM it (None: let it finish). Returns its exit code, its stderr and how long it ran
    after that line."""
    process = restore_process(name, env)
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("restoring "):
            break
    started = time.monotonic()
    if stop_after is not None:
        time.sleep(stop_after)
        process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=60)
    return process.returncode, "".join(lines) + rest, time.monotonic() - started


def test_sigterm_at_any_moment_leaves_the_old_data_or_the_new_never_a_mix(
    seeded: SeededDatabase, commands: tuple[dict[str, str], Path]
):
    env, tmp_dir = commands
    add_bulk(seeded, rows=3000)
    name = created(env)
    new = seeded.snapshot()
    seeded.execute("DELETE FROM users WHERE username = 'bob'")
    code, stderr, duration = run_restore(name, env, stop_after=None)
    assert (code, seeded.snapshot()) == (0, new), stderr

    outcomes = []
    for run, fraction in enumerate([0.0, 0.2, 0.4, 0.6, 0.75, 0.9, 1.0]):
        seeded.execute(
            "DELETE FROM users WHERE username = 'bob'",
            f"INSERT INTO tags (name) VALUES ('run-{run}')",
        )
        old = seeded.snapshot()
        code, stderr, _ = run_restore(name, env, stop_after=fraction * duration)
        assert "Traceback" not in stderr
        after = seeded.snapshot()
        if code == 130:
            assert after == old, f"interrupted at {fraction:.0%} but the data changed"
        else:
            # -SIGTERM: the signal came after the command had finished and put back the
            # default handlers, while the interpreter was exiting.
            assert code in (0, -signal.SIGTERM), stderr
            assert after == new, f"finished at {fraction:.0%} but the data is not the backup's"
        assert_no_scratch_left(seeded, tmp_dir)
        outcomes.append(code)
    assert 130 in outcomes  # the signal did land inside restores
