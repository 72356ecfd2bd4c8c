"""Fixtures: a fresh database per test run (SQLite file, or a new PostgreSQL database created on
the server named by ``TEST_DATABASE_URL`` and dropped afterwards), emptied after every test.

``REQUIRE_DATABASE=postgresql`` makes the run fail unless it really ran on PostgreSQL, and with
``CI=true`` a test that needs Redis or PostgreSQL fails instead of skipping when the server is not
reachable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.logs import HANDLER_NAME
from config import RATE_LIMIT_DEFAULTS, get_config, normalise_database_url
from tests.redis_process import RedisServer

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def create_postgres_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """Create ``conduit_test_<random>`` on the server and return its URL and a dropper."""
    url = make_url(normalise_database_url(server_url))
    name = f"conduit_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL", "")
    if server_url.startswith(("postgres://", "postgresql")):
        url, drop = create_postgres_database(server_url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        drop = None
    required = os.environ.get("REQUIRE_DATABASE", "")
    if required and not url.startswith(required):
        pytest.fail(f"REQUIRE_DATABASE={required} but the test database is {url.split(':')[0]}")
    yield url
    if drop:
        drop()


# Settings of the developer's own shell that must never reach a test's app: a test that wants
# one passes it explicitly (a real SENTRY_DSN would receive the tests' induced errors).
NOT_INHERITED = frozenset({"SENTRY_DSN"})


def app_environ(database_url: str, **env: str) -> dict[str, str]:
    """The environment a test's app is built from (never written to ``os.environ``): the
    process's own (but ``NOT_INHERITED``), the test database for every config (testing reads
    TEST_DATABASE_URL, the others DATABASE_URL), and ``env`` on top."""
    inherited = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    return {**inherited, "TEST_DATABASE_URL": database_url, "DATABASE_URL": database_url, **env}


def build_app(database_url: str, config_name: str = "testing", **env: str) -> Flask:
    return create_app(get_config(config_name, environ=app_environ(database_url, **env)))


@contextlib.contextmanager
def postgres_app(server_url: str, **env: str) -> Iterator[Flask]:
    """An app on a new PostgreSQL database of its own, migrated; the database is dropped after.
    For tests that need PostgreSQL whatever the suite's backend (``postgres_server_url``)."""
    url, drop = create_postgres_database(server_url)
    try:
        application = build_app(url, **env)
        with application.app_context():
            upgrade()
        yield application
        with application.app_context():
            db.engine.dispose()
    finally:
        drop()


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    application = build_app(database_url)
    with application.app_context():
        upgrade()  # the real migrations build the schema, on SQLite and on PostgreSQL
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Replace pytest-flask's fixture of this name, which pushes one request context for the
    whole test: every client request would then share one app context and one database session,
    unlike production. Here each request gets its own, and tests open ``app.app_context()``
    themselves when they touch the database directly."""


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Apps built in a test replace the root handler and level; put the previous ones back."""
    root = logging.getLogger()
    saved = [h for h in root.handlers if h.get_name() == HANDLER_NAME]
    level = root.level
    yield
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        db.session.remove()
        # Back to the state the migrations leave: empty tables, the article counter at zero.
        tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name != "counters"]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                quoted = ", ".join(f'"{name}"' for name in tables)
                connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    connection.execute(text(f'DELETE FROM "{name}"'))
            connection.execute(text("DELETE FROM counters"))
            connection.execute(text("INSERT INTO counters (name, value) VALUES ('articles', 0)"))


@pytest.fixture
def make_app(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Build another app on the test database with extra environment, e.g. a production one;
    every app's connection pool is closed after the test."""
    built: list[Flask] = []

    def build(config_name: str = "testing", **env: str) -> Flask:
        application = build_app(database_url, config_name, **env)
        built.append(application)
        return application

    yield build
    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def service_unavailable(message: str) -> NoReturn:
    """Skip on a developer's machine without the server; in CI a missing server is a failure."""
    if IN_CI:
        pytest.fail(f"{message} (required in CI)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """A reachable PostgreSQL server for tests that need PostgreSQL whatever the main backend:
    ``TEST_DATABASE_URL`` when it is PostgreSQL, else ``TEST_POSTGRES_URL`` (default: the local
    server's ``postgres`` database). Tests create their own databases there; skip — fail in CI."""
    server = os.environ.get("TEST_DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql")):
        server = os.environ.get(
            "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
    engine = create_engine(normalise_database_url(server), connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        service_unavailable(f"PostgreSQL is not reachable: {type(error).__name__}")
    finally:
        engine.dispose()
    return server


@pytest.fixture
def redis_url() -> str:
    """A reachable Redis (``TEST_REDIS_URL``, default db 15 on localhost), or skip — fail in CI."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as error:
        service_unavailable(f"Redis is not reachable at TEST_REDIS_URL: {type(error).__name__}")
    return url


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own (``tests/redis_process.py``), stopped afterwards; skip
    without the binary, fail in CI."""
    binary = shutil.which("redis-server")
    if binary is None:
        service_unavailable("redis-server is not installed")
    server = RedisServer(binary, tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rate_limit_prefix(redis_url: str) -> Iterator[str]:
    """A ``RATELIMIT_KEY_PREFIX`` of this test's own, so concurrent runs sharing the test Redis
    never share a counter; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    delete_rate_limit_keys(client, prefix)
    client.close()


def delete_rate_limit_keys(client: redis.Redis, prefix: str) -> int:
    """Delete the limiter's keys under ``prefix`` (and nothing else: the test Redis may be
    someone's own); returns how many there were."""
    keys = list(client.scan_iter(match=f"*/{prefix}/*"))
    if keys:
        client.delete(*keys)
    return len(keys)


@pytest.fixture
def limited_app(
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    rate_limit_prefix: str,
) -> Callable[..., Flask]:
    """Build apps with rate limiting on, counting in the test Redis under the test's prefix;
    keyword arguments set more environment (e.g. ``RATELIMIT_READ="2/minute"``)."""
    for name in [*RATE_LIMIT_DEFAULTS, "RATELIMIT_DEFAULT"]:
        monkeypatch.delenv(name, raising=False)  # the shell's own settings never leak in

    def build(**env: str) -> Flask:
        base = {
            "RATELIMIT_ENABLED": "true",
            "REDIS_URL": redis_url,
            "RATELIMIT_KEY_PREFIX": rate_limit_prefix,
        }
        return make_app("testing", **{**base, **env})

    return build


def wait_until(
    condition: Callable[[], bool], message: str, timeout: float = 30, interval: float = 0.1
) -> None:
    """Return once ``condition()`` holds; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(interval)


def assert_error(response: Any, status: int, errors: dict[str, list[str]]) -> None:
    """The response is the contract's JSON error envelope with exactly these errors."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.get_json() == {"errors": errors}


def register(
    client: FlaskClient,
    username: str = "alice",
    email: str | None = None,
    password: str = "correct horse battery",
) -> dict[str, Any]:
    """Register through the API and return the ``user`` object (with its token)."""
    response = client.post(
        "/api/users",
        json={
            "user": {
                "username": username,
                "email": email or f"{username}@example.com",
                "password": password,
            }
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["user"]


def auth_header(token: str, scheme: str = "Token") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


@pytest.fixture
def user(client: FlaskClient) -> dict[str, Any]:
    return register(client)


# Named users for tests with several actors (``alice`` is the same account as ``user``).
@pytest.fixture
def alice(client: FlaskClient) -> dict[str, Any]:
    return register(client, "alice")


@pytest.fixture
def bob(client: FlaskClient) -> dict[str, Any]:
    return register(client, "bob")


@pytest.fixture
def carol(client: FlaskClient) -> dict[str, Any]:
    return register(client, "carol")


def pytest_report_header(config: pytest.Config) -> str:
    server = os.environ.get("TEST_DATABASE_URL", "")
    backend = "postgresql" if server.startswith(("postgres://", "postgresql")) else "sqlite"
    return f"test database backend: {backend}"
