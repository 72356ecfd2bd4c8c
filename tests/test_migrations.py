"""Migrations and operator commands, run the way operators run them: ``flask --app wsgi ...`` in a
separate process, against a brand-new database (a new SQLite file, and a new PostgreSQL
database on the PostgreSQL server of the ``postgres_server_url`` fixture).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from config import CHEAP_PASSWORD_HASHING, normalise_database_url

ROOT = Path(__file__).resolve().parent.parent
# What a command started by a test inherits; COVERAGE_PROCESS_CONFIG lets coverage measure it.
KEPT_ENV = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "COVERAGE_PROCESS_CONFIG"}
NO_DRIFT = "No new upgrade operations detected"


def migration_head() -> str:
    config = AlembicConfig()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head
    return head


def flask(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m flask --app wsgi <args>`` with only ``env`` as configuration."""
    base = {k: v for k, v in os.environ.items() if k in KEPT_ENV}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env={**base, "APP_ENV": "development", **CHEAP_PASSWORD_HASHING, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def db_command(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return flask("db", *args, DATABASE_URL=database_url)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database that has never seen a migration."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    server = request.getfixturevalue("postgres_server_url")  # runs on every backend's run
    url = make_url(normalise_database_url(server))
    name = f"conduit_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def schema(database_url: str) -> tuple[set[str], str | None]:
    """(table names, stored alembic revision) of the database, read directly."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = connection.execute(text("SELECT version_num FROM alembic_version"))
                revision = revision.scalar()
        return tables, revision
    finally:
        engine.dispose()


# flask db upgrade / check / downgrade ------------------------------------------------------------


def test_upgrade_builds_a_fresh_database_to_the_head(fresh_database):
    result = db_command(fresh_database, "upgrade")
    assert result.returncode == 0, output(result)
    tables, revision = schema(fresh_database)
    assert "users" in tables
    assert revision == migration_head()


def test_check_finds_no_drift_between_models_and_migrations(fresh_database):
    assert db_command(fresh_database, "upgrade").returncode == 0
    result = db_command(fresh_database, "check")
    assert result.returncode == 0, output(result)
    assert NO_DRIFT in output(result)


def test_check_fails_on_a_database_that_was_never_upgraded(fresh_database):
    result = db_command(fresh_database, "check")
    assert result.returncode != 0
    assert NO_DRIFT not in output(result)
    assert "Target database is not up to date" in output(result)


def test_downgrade_to_base_removes_the_schema(fresh_database):
    assert db_command(fresh_database, "upgrade").returncode == 0
    result = db_command(fresh_database, "downgrade", "base")
    assert result.returncode == 0, output(result)
    tables, revision = schema(fresh_database)
    assert "users" not in tables
    assert revision is None


def test_upgrade_after_downgrade_to_base_rebuilds_the_same_schema(fresh_database):
    assert db_command(fresh_database, "upgrade").returncode == 0
    first, _ = schema(fresh_database)
    assert db_command(fresh_database, "downgrade", "base").returncode == 0
    result = db_command(fresh_database, "upgrade")
    assert result.returncode == 0, output(result)
    tables, revision = schema(fresh_database)
    assert (tables, revision) == (first, migration_head())
    check = db_command(fresh_database, "check")
    assert check.returncode == 0, output(check)
    assert NO_DRIFT in output(check)


# flask config-check ------------------------------------------------------------------------------

PASSWORD = "hunter2-" + "x" * 8
DSN = f"postgresql://conduit:{PASSWORD}@db.internal:5432/conduit_prod"


def test_config_check_prints_environment_and_database_backend():
    result = flask("config-check", DATABASE_URL=DSN)
    assert result.returncode == 0, output(result)
    lines = result.stdout.splitlines()
    assert "environment: development" in lines
    assert any(line.startswith("database: postgresql") for line in lines)


def test_config_check_never_prints_the_database_password():
    result = flask("config-check", DATABASE_URL=DSN)
    assert result.returncode == 0, output(result)
    assert PASSWORD not in output(result)
    assert DSN not in output(result)


def test_config_check_reports_the_production_environment():
    result = flask(
        "config-check",
        APP_ENV="production",
        DATABASE_URL=DSN,
        SECRET_KEY=secrets.token_urlsafe(32),
        JWT_SECRET_KEY=secrets.token_urlsafe(32),
    )
    assert result.returncode == 0, output(result)
    assert "environment: production" in result.stdout.splitlines()
    assert PASSWORD not in output(result)


def test_config_check_reports_sqlite_as_the_backend(tmp_path):
    result = flask("config-check", DATABASE_URL=f"sqlite:///{tmp_path}/conduit.db")
    assert result.returncode == 0, output(result)
    assert any(line.startswith("database: sqlite") for line in result.stdout.splitlines())


def test_config_check_exits_4_on_an_unsafe_production_config():
    result = flask(
        "config-check",
        APP_ENV="production",
        DATABASE_URL=DSN,
        SECRET_KEY="changeme",
        JWT_SECRET_KEY=secrets.token_urlsafe(32),
    )
    assert result.returncode == 4  # wsgi.py: "app failed to load"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: SECRET_KEY ")
    assert "Traceback" not in result.stderr
