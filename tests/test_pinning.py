"""Dependencies: every direct dependency is pinned to one version, and that version is the one
installed, so a build never picks up a release nobody reviewed."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(
    r"(?P<name>[A-Za-z0-9._-]+)(?:\[[A-Za-z0-9,._-]+\])?==(?P<version>[A-Za-z0-9.+!-]+)"
)


def requirements(name: str) -> list[str]:
    """The requirement lines of ``name``: comments, blanks and ``-r`` includes left out."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / name).read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-r")]


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_every_requirement_is_pinned_to_one_version(name):
    loose = [line for line in requirements(name) if not PIN.fullmatch(line)]
    assert loose == []


@pytest.mark.parametrize("line", requirements("requirements.txt"))
def test_installed_runtime_dependency_matches_its_pin(line):
    match = PIN.fullmatch(line)
    assert match, line
    try:
        installed = version(match["name"])
    except PackageNotFoundError:
        pytest.fail(f"{match['name']} is pinned but not installed")
    assert installed == match["version"]
