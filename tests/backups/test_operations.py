"""Backups as operators schedule and watch them: ``ops/backup_cron.sh`` (one JSON line per run,
exit status for monitoring) and the progress line on a terminal."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys

import pytest

from tests.backups.conftest import ROOT, production_env, run_flask
from tests.pg_cluster import free_port

CRON = ROOT / "ops" / "backup_cron.sh"


def cron_run(**env: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    result = subprocess.run(
        ["bash", str(CRON)],
        env=production_env(PYTHON=sys.executable, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    return result, json.loads(lines[0])


def test_the_cron_script_creates_verifies_and_prunes_and_reports_one_json_line(seeded, tmp_path):
    env = {"DATABASE_URL": seeded.url, "BACKUP_DIR": str(tmp_path)}

    result, report = cron_run(**env, BACKUP_KEEP_DAILY="1")

    assert result.returncode == 0, result.stderr
    assert report["outcome"] == "ok"
    assert report["failed_step"] is None and report["error"] is None
    assert report["duration_s"] > 0
    listed = json.loads(run_flask("backup", "list", "--json", **env).stdout)
    assert [(entry["name"], entry["verified_at"] is not None) for entry in listed] == [
        (report["backup"], True)
    ]


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_the_cron_script_prunes_with_the_configured_policy(seeded, tmp_path):
    env = {"DATABASE_URL": seeded.url, "BACKUP_DIR": str(tmp_path), "BACKUP_KEEP_DAILY": "1"}
    first = cron_run(**env)[1]["backup"]

    second = cron_run(**env)[1]["backup"]

    listed = json.loads(run_flask("backup", "list", "--json", **env).stdout)
    assert [entry["name"] for entry in listed] == [second]
    assert first != second


def test_a_failed_run_reports_its_step_and_error_and_exits_non_zero(tmp_path):
    url = f"postgresql://conduit:pw-{os.getpid()}-secret@127.0.0.1:{free_port()}/conduit"

    result, report = cron_run(DATABASE_URL=url, BACKUP_DIR=str(tmp_path))

    assert result.returncode == 1
    assert report["outcome"] == "failed"
    assert report["failed_step"] == "create"
    assert report["exit_status"] == 1
    assert "PostgreSQL database 'conduit'" in report["error"]
    assert f"pw-{os.getpid()}-secret" not in result.stdout + result.stderr


@pytest.mark.parametrize("seeded", ["postgresql"], indirect=True)
def test_a_verify_failure_is_reported_as_the_verify_step(seeded, tmp_path):
    """A host with pg_dump but no pg_restore can back up but not verify: the run fails."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "pg_dump").symlink_to(shutil.which("pg_dump"))
    env = {"DATABASE_URL": seeded.url, "BACKUP_DIR": str(tmp_path), "BACKUP_PG_BIN_DIR": str(tools)}

    result, report = cron_run(**env)

    assert result.returncode == 1
    assert (report["outcome"], report["failed_step"]) == ("failed", "verify")
    assert report["backup"] is not None
    assert "pg_restore was not found" in report["error"]


def test_create_shows_a_progress_line_on_a_terminal_and_none_in_a_pipe(seeded, tmp_path):
    env = production_env(DATABASE_URL=seeded.url, BACKUP_DIR=str(tmp_path))
    controller, terminal = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "backup", "create"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)

    assert process.returncode == 0
    assert b"\r\x1b[Kdumping " in shown
    piped = run_flask("backup", "create", **env)
    assert "dumping" not in piped.stderr
