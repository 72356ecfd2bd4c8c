"""Health endpoints, as load balancers and operators see them: /ping, /health, /health/detailed.

Every test talks HTTP through the Flask test client to apps wired to real servers (the test
database, a real Redis) or to addresses that fail in the ways production databases fail: a
closed port (refused at once) and a listener that accepts but never answers (a hang).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import text

from app.extensions import db
from config import project_version

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SECRET = "health-test-secret-key-0123456789abcdef"
JWT_SECRET = "health-test-jwt-secret-0123456789abcdef"


@pytest.fixture
def build(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """``make_app`` (which closes each app's connection pool after the test)."""
    return make_app


@pytest.fixture
def no_redis_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps built after this see no REDIS_URL, whatever the shell running pytest exports."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("APP_VERSION", raising=False)


@pytest.fixture
def closed_port() -> int:
    """A local TCP port with nothing listening on it (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port whose listener completes the TCP handshake but never reads or replies."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def down_db(port: int, credentials: str = "postgres") -> str:
    return f"postgresql://{credentials}@127.0.0.1:{port}/x"


def migration_head() -> str:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head
    return head


def timed_get(application: Flask, path: str):
    started = time.perf_counter()
    response = application.test_client().get(path)
    return response, time.perf_counter() - started


# /ping -------------------------------------------------------------------------------------------


def test_ping_answers_ok(client):
    response = client.get("/ping")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ping_answers_ok_while_the_database_is_unreachable(build, closed_port):
    unreachable = build(TEST_DATABASE_URL=down_db(closed_port))
    response = unreachable.test_client().get("/ping")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


# /health -----------------------------------------------------------------------------------------


def test_health_is_ok_when_the_database_answers(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_is_503_quickly_when_the_database_port_is_closed(build, closed_port):
    unreachable = build(TEST_DATABASE_URL=down_db(closed_port))
    response, elapsed = timed_get(unreachable, "/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    assert elapsed < 2.0


def test_health_is_503_by_its_deadline_when_the_database_hangs(build, silent_listener):
    hanging = build(TEST_DATABASE_URL=down_db(silent_listener), HEALTH_CHECK_TIMEOUT="1")
    response, elapsed = timed_get(hanging, "/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    assert 0.9 < elapsed < 2.0  # waited for the check, then gave up at HEALTH_CHECK_TIMEOUT


def test_health_recovers_for_a_good_app_after_a_hung_check(build, silent_listener, app):
    # The abandoned connect attempt stays stuck for 10 s, far past the good app's deadline.
    hanging = build(
        TEST_DATABASE_URL=down_db(silent_listener),
        HEALTH_CHECK_TIMEOUT="1",
        DB_CONNECT_TIMEOUT="10",
    )
    assert hanging.test_client().get("/health").status_code == 503
    response, elapsed = timed_get(app, "/health")
    assert response.status_code == 200
    assert elapsed < 1.0  # not queued behind the abandoned check


# /health/detailed --------------------------------------------------------------------------------


def test_detailed_reports_ok_with_database_latency(build, no_redis_env):
    response = build().test_client().get("/health/detailed")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    database = body["checks"]["database"]
    assert database["status"] == "ok"
    assert isinstance(database["latency_ms"], int | float)
    assert not isinstance(database["latency_ms"], bool)
    assert database["latency_ms"] >= 0


def test_detailed_reports_the_schema_at_the_migration_head(app, client):
    migrations = client.get("/health/detailed").get_json()["checks"]["database"]["migrations"]
    with app.app_context():
        stored = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert migrations == {"current": stored, "head": migration_head(), "up_to_date": True}


def test_detailed_reports_an_unmigrated_database_as_not_up_to_date(build, tmp_path):
    empty = build(TEST_DATABASE_URL=f"sqlite:///{tmp_path}/empty.db")
    response = empty.test_client().get("/health/detailed")
    migrations = response.get_json()["checks"]["database"]["migrations"]
    assert migrations["up_to_date"] is False
    assert migrations["current"] is None
    assert migrations["head"] == migration_head()


def test_detailed_reports_redis_not_configured_without_redis_url(build, no_redis_env):
    body = build().test_client().get("/health/detailed").get_json()
    assert body["checks"]["redis"]["status"] == "not configured"
    assert body["status"] == "ok"


def test_detailed_reports_redis_ok_when_it_answers_ping(build, redis_url):
    response = build(REDIS_URL=redis_url).test_client().get("/health/detailed")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"
    assert isinstance(body["checks"]["redis"]["latency_ms"], int | float)


def test_detailed_is_degraded_but_200_when_redis_is_down(build, closed_port):
    redis_down = build(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    response, elapsed = timed_get(redis_down, "/health/detailed")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"
    assert elapsed < 2.0


def test_detailed_is_503_unavailable_when_the_database_is_down(build, closed_port):
    unreachable = build(TEST_DATABASE_URL=down_db(closed_port))
    response, elapsed = timed_get(unreachable, "/health/detailed")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "down"
    assert elapsed < 2.0


def test_detailed_is_503_by_its_deadline_when_the_database_hangs(build, silent_listener):
    hanging = build(TEST_DATABASE_URL=down_db(silent_listener), HEALTH_CHECK_TIMEOUT="1")
    response, elapsed = timed_get(hanging, "/health/detailed")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["status"] == "down"
    assert elapsed < 2.0


def test_detailed_includes_version_and_uptime(build, no_redis_env):
    body = build().test_client().get("/health/detailed").get_json()
    assert body["version"] == project_version() == "0.1.0"  # pyproject.toml's
    assert isinstance(body["uptime_seconds"], int | float)
    assert body["uptime_seconds"] >= 0


def test_detailed_version_comes_from_app_version(build):
    body = build(APP_VERSION="2026.11.26-abc1234").test_client().get("/health/detailed")
    assert body.get_json()["version"] == "2026.11.26-abc1234"


# Nothing secret in the detailed body -----------------------------------------------------------


def _leaks(body: str, *needles: str) -> list[str]:
    return [needle for needle in needles if needle.lower() in body.lower()]


def _mentions_port(body: str, port: int) -> bool:
    return re.search(rf"(?<![\w.]){port}(?![\w.])", body) is not None


def test_detailed_body_reveals_nothing_when_the_database_is_down(build, closed_port):
    leaky = build(
        TEST_DATABASE_URL=f"postgresql://dbadmin:s3cr3tpw@127.0.0.1:{closed_port}/proddb",
        REDIS_URL=f"redis://:r3d1spw@127.0.0.1:{closed_port}/0",
        SECRET_KEY=SECRET,
        JWT_SECRET_KEY=JWT_SECRET,
    )
    response = leaky.test_client().get("/health/detailed")
    assert response.status_code == 503
    body = json.dumps(response.get_json())
    assert (
        _leaks(
            body, "s3cr3tpw", "r3d1spw", "dbadmin", "proddb", "127.0.0.1", "postgres", "redis://"
        )
        == []
    )
    assert _leaks(body, SECRET, JWT_SECRET) == []
    assert not _mentions_port(body, closed_port)


def test_detailed_body_reveals_nothing_about_a_healthy_database(build, database_url, redis_url):
    healthy = build(REDIS_URL=redis_url, SECRET_KEY=SECRET, JWT_SECRET_KEY=JWT_SECRET)
    response = healthy.test_client().get("/health/detailed")
    assert response.status_code == 200
    body = json.dumps(response.get_json())
    location = database_url.split("///", 1)[-1].rsplit("/", 1)[-1]  # file or database name
    assert _leaks(body, location, database_url, redis_url, "127.0.0.1", "postgres") == []
    assert _leaks(body, SECRET, JWT_SECRET) == []
    assert not _mentions_port(body, 5432)
    assert not _mentions_port(body, 6379)


# Probing in production -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ping", "/health", "/health/detailed"])
def test_health_endpoints_answer_plain_http_in_production(build, database_url, path):
    production = build(
        "production",
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        JWT_SECRET_KEY=JWT_SECRET,
        CORS_ORIGINS="https://app.example.com",
    )
    response = production.test_client().get(path, base_url="http://10.0.0.5")
    assert response.status_code == 200
    assert "Location" not in response.headers


def test_probe_requests_are_logged_at_debug(client, caplog):
    caplog.set_level(logging.DEBUG, logger="app.request")
    for path in ("/ping", "/health", "/health/detailed"):
        client.get(path)
    probes = [r for r in caplog.records if r.name == "app.request"]
    assert [r.path for r in probes] == ["/ping", "/health", "/health/detailed"]
    assert {r.levelno for r in probes} == {logging.DEBUG}


def test_ordinary_requests_are_logged_above_debug(client, caplog):
    caplog.set_level(logging.DEBUG, logger="app.request")
    client.get("/api/no-such-route")
    records = [r for r in caplog.records if r.name == "app.request"]
    assert [r.levelno for r in records] == [logging.INFO]
