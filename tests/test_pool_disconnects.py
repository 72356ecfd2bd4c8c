"""A pooled PostgreSQL connection the server has closed is never handed to a request, and no
statement is spent finding out (app/database.py: a poll of the socket at checkout, instead of
the pool's pre-ping)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from flask import Flask, jsonify
from sqlalchemy import event, text

from app.database import is_usable
from app.extensions import db
from config import normalise_database_url


def _backend_app(make_app: Any, server_url: str) -> Flask:
    """An app on the PostgreSQL server with one connection in its pool and a route that
    answers which server process serves it."""
    app = make_app(TEST_DATABASE_URL=server_url, DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0")

    def backend() -> Any:
        return jsonify(pid=db.session.scalar(text("SELECT pg_backend_pid()")))

    app.add_url_rule("/_backend", view_func=backend)
    return app


def _libpq(url: str) -> str:
    return normalise_database_url(url).replace("postgresql+psycopg://", "postgresql://")


def _terminate(server_url: str, pid: int) -> None:
    with psycopg.connect(_libpq(server_url), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


def _wait_until_unusable(connection: Any) -> None:
    deadline = time.monotonic() + 5
    while is_usable(connection):
        assert time.monotonic() < deadline, "the server's goodbye never arrived"
        time.sleep(0.01)


def test_request_after_the_server_ended_the_pooled_session_answers_200(
    make_app, postgres_server_url
):
    client = _backend_app(make_app, postgres_server_url).test_client()
    first = client.get("/_backend").get_json()["pid"]

    _terminate(postgres_server_url, first)
    time.sleep(0.2)  # the FATAL message and the end of file reach the idle pooled socket

    answer = client.get("/_backend")
    assert answer.status_code == 200
    assert answer.get_json()["pid"] != first


def test_checkout_of_a_live_connection_sends_no_statement(make_app, postgres_server_url):
    app = _backend_app(make_app, postgres_server_url)
    client = app.test_client()
    client.get("/_backend")  # the pool now holds one live connection
    sent: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
        assert db.engine.pool._pre_ping is False  # no SELECT 1 behind the events' back

    client.get("/_backend")

    assert sent == ["SELECT pg_backend_pid()"]


def test_live_idle_connection_is_usable(postgres_server_url):
    with psycopg.connect(_libpq(postgres_server_url), autocommit=True) as conn:
        assert is_usable(conn)


def test_connection_ended_by_the_server_is_not_usable(postgres_server_url):
    url = _libpq(postgres_server_url)
    with psycopg.connect(url, autocommit=True) as conn:
        _terminate(url, conn.info.backend_pid)
        _wait_until_unusable(conn)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")


def test_closed_connection_is_not_usable(postgres_server_url):
    conn = psycopg.connect(_libpq(postgres_server_url), autocommit=True)
    conn.close()

    assert not is_usable(conn)
