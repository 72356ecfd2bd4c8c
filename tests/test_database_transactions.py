"""How requests use database transactions: reads in autocommit, writes in one transaction each."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text

from app.extensions import db
from tests.conftest import auth_header, register


def _in_autocommit(dbapi_connection: Any) -> bool:
    if isinstance(dbapi_connection, sqlite3.Connection):  # Python 3.11: no .autocommit
        return dbapi_connection.isolation_level is None
    return bool(dbapi_connection.autocommit)  # psycopg


def _probe(make_app: Any) -> Flask:
    """An app with one extra route that reports whether its connection is in autocommit."""
    app = make_app()

    def isolation() -> Any:
        dbapi_connection = db.session.connection().connection.dbapi_connection
        return jsonify(level="AUTOCOMMIT" if _in_autocommit(dbapi_connection) else "transaction")

    app.add_url_rule("/_isolation", view_func=isolation, methods=["GET", "POST"])
    return app


def test_read_only_request_runs_in_autocommit(make_app):
    client = _probe(make_app).test_client()

    assert client.get("/_isolation").get_json() == {"level": "AUTOCOMMIT"}


def test_write_request_runs_in_a_transaction(make_app):
    client = _probe(make_app).test_client()

    assert client.post("/_isolation").get_json() == {"level": "transaction"}


def test_connection_returns_to_the_pool_with_its_default_isolation_level(make_app):
    client = _probe(make_app).test_client()

    client.get("/_isolation")

    # The next checkout, for a write, must not inherit the read's autocommit.
    assert client.post("/_isolation").get_json() == {"level": "transaction"}


def test_failed_write_leaves_nothing_behind(app, client):
    token = register(client, "ann")["token"]
    created = client.post(
        "/api/articles",
        json={"article": {"title": "t", "description": "d", "body": "b", "tagList": ["x"]}},
        headers=auth_header(token),
    )
    assert created.status_code == 201
    slug = created.get_json()["article"]["slug"]

    # A blank title fails validation after the request began: nothing of the update is kept.
    response = client.put(
        f"/api/articles/{slug}",
        json={"article": {"title": "", "body": "changed"}},
        headers=auth_header(token),
    )

    assert response.status_code == 422
    assert client.get(f"/api/articles/{slug}").get_json()["article"]["body"] == "b"


def test_read_statements_stay_prepared_across_requests(make_app, postgres_server_url):
    # psycopg forgets prepared statements on ROLLBACK; reads in autocommit keep them.
    app = make_app(TEST_DATABASE_URL=postgres_server_url)

    def prepared() -> Any:
        db.session.execute(text("SELECT 40 + 2")).scalar()
        statements = db.session.execute(text("SELECT statement FROM pg_prepared_statements"))
        return jsonify(statements=list(statements.scalars()))

    app.add_url_rule("/_prepared", view_func=prepared)
    client = app.test_client()
    for _ in range(6):  # prepared on the 5th execution on the same pooled connection
        client.get("/_prepared")

    assert "SELECT 40 + 2" in client.get("/_prepared").get_json()["statements"]
