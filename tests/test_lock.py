"""The hash-locked installs: requirements*.lock pin every package that requirements*.txt pull in,
each with its hashes, and they are what `make lock` makes of the .txt files today."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import service_unavailable

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"requirements.txt": "requirements.lock", "requirements-dev.txt": "requirements-dev.lock"}
LOCK_FLAGS = ["--quiet", "--universal", "--generate-hashes", "--python-version", "3.11"]
ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)", re.M)
DIRECT = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(?P<version>\S+)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {normalise(m["name"]): m["version"] for m in ENTRY.finditer(text)}


def direct(requirements: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / requirements).read_text().splitlines():
        match = DIRECT.match(line.split("#", 1)[0].strip())
        if match:
            pins[normalise(match["name"])] = match["version"]
    return pins


@pytest.mark.parametrize(("requirements", "lock"), LOCKS.items())
def test_every_direct_pin_is_locked_at_its_version(requirements, lock):
    pins, entries = direct(requirements), locked(lock)
    assert {name: entries.get(name) for name in pins} == pins


@pytest.mark.parametrize("lock", LOCKS.values())
def test_every_locked_package_has_a_sha256_hash(lock):
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text())
    unhashed = [b.split()[0] for b in blocks if ENTRY.match(b) and "--hash=sha256:" not in b]
    assert unhashed == []


def test_the_dev_lock_installs_the_same_runtime_versions():
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def uv() -> str:
    found = shutil.which("uv", path=str(ROOT / ".venv" / "bin")) or shutil.which("uv")
    if found is None:
        service_unavailable("uv is not installed (requirements-dev.txt)")
    return found


@pytest.mark.parametrize(("requirements", "lock"), LOCKS.items())
def test_the_lock_is_what_make_lock_makes_of_the_requirements_today(tmp_path, requirements, lock):
    # Compiled over a copy of the lock, whose pins uv keeps as preferences: only a change in the
    # .txt files makes a difference, not a release on PyPI since.
    fresh = tmp_path / lock
    shutil.copy(ROOT / lock, fresh)
    constraints = ["-c", "requirements.lock"] if lock != "requirements.lock" else []
    command = [uv(), "pip", "compile", *LOCK_FLAGS, requirements, *constraints, "-o", str(fresh)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert _body(fresh) == _body(ROOT / lock), f"{lock} is out of date: run `make lock`"


def _body(path: Path) -> list[str]:
    """The lock without its comment lines (the header names the command that wrote it)."""
    return [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
