"""Fixtures for the backup tests.

``seeded`` is a database of this test's own, on SQLite and on PostgreSQL (each test runs on
both), holding users, sessions (one revoked), follows, articles, tags, favorites and comments
written through the API. It is a copy of a template seeded once per run: a file copy on SQLite,
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL. ``backup(...)`` runs ``flask backup ...``
in-process against it; ``run_flask(...)`` runs it as operators do, in a separate process with
the production configuration.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.extensions import db
from config import CHEAP_PASSWORD_HASHING, normalise_database_url
from tests.conftest import auth_header, build_app, register, service_unavailable
from tests.s3_server import CREDENTIALS, moto_server
from tests.test_migrations import KEPT_ENV

ROOT = Path(__file__).resolve().parents[2]
KINDS = ["sqlite", "postgresql"]
PASSWORD = "correct horse battery"  # every seeded account's


# --- the seeded database --------------------------------------------------------------------


@dataclass
class SeededDatabase:
    kind: str
    url: str

    def engine(self) -> Engine:
        return create_engine(normalise_database_url(self.url), poolclass=NullPool)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, in a stable order: what "restored exactly" compares."""
        engine = self.engine()
        try:
            with engine.connect() as connection:
                tables = sorted(inspect(connection).get_table_names())
                return {table: _all_rows(connection, table) for table in tables}
        finally:
            engine.dispose()

    def execute(self, *statements: str) -> None:
        engine = self.engine()
        try:
            with engine.begin() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    def scalar(self, statement: str) -> Any:
        engine = self.engine()
        try:
            with engine.connect() as connection:
                return connection.scalar(text(statement))
        finally:
            engine.dispose()


def _all_rows(connection: Any, table: str) -> list[tuple[Any, ...]]:
    positions = ", ".join(str(n + 1) for n in range(len(inspect(connection).get_columns(table))))
    query = text(f'SELECT * FROM "{table}" ORDER BY {positions}')
    return [tuple(row) for row in connection.execute(query)]


def seed_through_the_api(client: FlaskClient) -> None:
    """A little of everything a backup must keep, written the way users write it."""
    alice, bob = register(client, "alice", password=PASSWORD), register(client, "bob")
    carol = register(client, "carol")
    for follower in (bob, carol):
        client.post("/api/profiles/alice/follow", headers=auth_header(follower["token"]))
    slugs = []
    for n, tags in enumerate([["flask", "backups"], ["postgres"], []]):
        article = {"title": f"Article {n}", "description": "d", "body": "b", "tagList": tags}
        response = client.post(
            "/api/articles", json={"article": article}, headers=auth_header(alice["token"])
        )
        assert response.status_code == 201, response.get_json()
        slugs.append(response.get_json()["article"]["slug"])
    for reader in (bob, carol):
        client.post(f"/api/articles/{slugs[0]}/favorite", headers=auth_header(reader["token"]))
        client.post(
            f"/api/articles/{slugs[0]}/comments",
            json={"comment": {"body": f"thanks, from {reader['username']}"}},
            headers=auth_header(reader["token"]),
        )
    client.post("/api/auth/logout", headers=auth_header(carol["token"]))  # a revoked session


def change_everything(database: SeededDatabase) -> None:
    """Edits of every kind a restore must undo: deletes (with cascades), updates, inserts."""
    database.execute(
        "DELETE FROM users WHERE username = 'bob'",
        "UPDATE articles SET title = 'Vandalised' WHERE slug = 'article-0'",
        "DELETE FROM tags WHERE name = 'postgres'",
        "INSERT INTO tags (name) VALUES ('added-after-the-backup')",
    )


def _build_template(url: str) -> None:
    application = build_app(url)
    with application.app_context():
        upgrade()
    seed_through_the_api(application.test_client())
    with application.app_context():
        db.session.remove()
        db.engine.dispose()  # a PostgreSQL template must have no connections


class Templates:
    """One seeded template per backend, built on first use and removed at the end of the run."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.built: dict[str, str] = {}
        self.drops: list[Callable[[], None]] = []

    def sqlite(self) -> Path:
        path = self.directory / "template.db"
        if "sqlite" not in self.built:
            _build_template(f"sqlite:///{path}")
            self.built["sqlite"] = str(path)
        return path

    def postgres(self, server_url: str) -> str:
        if "postgresql" not in self.built:
            name = f"conduit_backup_template_{uuid.uuid4().hex[:8]}"
            admin_execute(server_url, f'CREATE DATABASE "{name}"')
            self.drops.append(lambda: admin_execute(server_url, drop_database(name)))
            _build_template(database_url_on(server_url, name))
            self.built["postgresql"] = name
        return self.built["postgresql"]


def database_url_on(server_url: str, name: str) -> str:
    url = make_url(normalise_database_url(server_url)).set(database=name)
    return url.render_as_string(hide_password=False)


def drop_database(name: str) -> str:
    return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'


def admin_execute(server_url: str, statement: str) -> Any:
    engine = create_engine(
        normalise_database_url(server_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as connection:
            result = connection.execute(text(statement))
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    cache = Templates(tmp_path_factory.mktemp("backup-templates"))
    yield cache
    for drop in cache.drops:
        drop()


@pytest.fixture(params=KINDS)
def seeded(
    request: pytest.FixtureRequest, templates: Templates, tmp_path: Path
) -> Iterator[SeededDatabase]:
    if request.param == "sqlite":
        path = tmp_path / "live.db"
        shutil.copyfile(templates.sqlite(), path)
        yield SeededDatabase("sqlite", f"sqlite:///{path}")
        return
    server = request.getfixturevalue("postgres_server_url")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        service_unavailable("pg_dump/pg_restore are not installed (Debian: postgresql-client)")
    template = templates.postgres(server)
    name = f"conduit_backup_{uuid.uuid4().hex[:10]}"
    admin_execute(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield SeededDatabase("postgresql", database_url_on(server, name))
    finally:
        admin_execute(server, drop_database(name))
        # Scratch databases of this test's backups must be gone too (they would be leaks).
        leftovers = admin_execute(
            server, f"SELECT datname FROM pg_database WHERE datname LIKE '{name}\\_\\_%'"
        )
        for (leftover,) in leftovers:
            admin_execute(server, drop_database(leftover))


# --- running the commands -------------------------------------------------------------------


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    return tmp_path / "backups"


@pytest.fixture
def service_app(
    make_app: Callable[..., Flask], seeded: SeededDatabase, backup_dir: Path
) -> Callable[..., Flask]:
    """Build an app on the seeded database (keyword arguments add environment)."""

    def build(**env: str) -> Flask:
        defaults = {"TEST_DATABASE_URL": seeded.url, "BACKUP_DIR": str(backup_dir)}
        return make_app("testing", **{**defaults, **env})

    return build


@pytest.fixture
def backup(service_app: Callable[..., Flask]) -> Callable[..., Result]:
    """``backup("create")`` runs ``flask backup create`` in-process on the seeded database."""
    application = service_app()

    def run(*args: str) -> Result:
        return application.test_cli_runner().invoke(args=["backup", *args])

    return run


def created_name(result: Result) -> str:
    """The name ``create`` printed as its last line of stdout (after checking it succeeded)."""
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def assert_fails_with(result: Result | subprocess.CompletedProcess[str], pattern: str) -> str:
    """Exit 1, exactly one ``error:`` line on stderr matching ``pattern``, no traceback."""
    code = result.exit_code if isinstance(result, Result) else result.returncode
    output = result.stdout + result.stderr
    assert code == 1, output
    assert "Traceback" not in output
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert re.search(pattern, errors[0]), errors[0]
    return errors[0]


def rewrite_manifest(backup_dir: Path, name: str, **changes: Any) -> None:
    """Change fields of a stored manifest, as someone editing it by hand would."""
    path = backup_dir / f"{name}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def production_env(**env: str) -> dict[str, str]:
    """The environment of an operator's shell on a production host, plus ``env``."""
    base = {key: value for key, value in os.environ.items() if key in KEPT_ENV}
    return {
        **base,
        **CHEAP_PASSWORD_HASHING,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "REDIS_URL": "",
        **env,
    }


def run_flask(*args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m flask --app wsgi <args>`` in a separate process, production configuration."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=production_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- S3 -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A new bucket on the loopback S3 server, and the environment that points backups at it."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    bucket = f"backups-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return {
        "BACKUP_S3_BUCKET": bucket,
        "BACKUP_S3_PREFIX": "conduit/prod",
        "BACKUP_S3_ENDPOINT_URL": s3_endpoint,
        **CREDENTIALS,
    }


def s3_keys(env: dict[str, str]) -> list[str]:
    client = boto3.client("s3", endpoint_url=env["BACKUP_S3_ENDPOINT_URL"])
    listed = client.list_objects_v2(Bucket=env["BACKUP_S3_BUCKET"])
    return sorted(item["Key"] for item in listed.get("Contents", []))
