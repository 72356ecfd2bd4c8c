"""How the app uses its database: SQLite pragmas, and how each request's session ends."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event

from app.extensions import db

log = logging.getLogger(__name__)

# Methods whose handlers only read (the read side never writes on them; see app/api/queries.py).
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_AUTOCOMMIT = "autocommit_for_reads"


def configure_database(app: Flask) -> None:
    """Bind the per-connection and per-request behaviour to ``app``'s engine and session."""
    _configure_sqlite(app)
    _autocommit_read_only_requests(app)
    _guard_session_teardown(app)


def _configure_sqlite(app: Flask) -> None:
    """SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked, per connection,
    and its default rollback journal makes concurrent readers and writers wait on each other."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL: readers no longer block the writer (and vice versa) under gunicorn's threads.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _autocommit_read_only_requests(app: Flask) -> None:
    """Connections checked out for a GET, HEAD or OPTIONS request run in autocommit, as every
    statement does in Django by default; requests that write keep one transaction each.

    Under READ COMMITTED (PostgreSQL's default) every statement takes its own snapshot anyway,
    so a read-only request sees exactly what it would inside a transaction, while it saves the
    ``BEGIN`` and ``ROLLBACK`` round trips. It also keeps prepared statements: psycopg forgets
    all of a connection's prepared statements on ROLLBACK (``DEALLOCATE ALL``), so the hot read
    statements used to be planned anew on every request; now a statement run five times on a
    pooled connection is prepared once (psycopg's ``prepare_threshold``).
    """
    with app.app_context():
        engine = db.engine
    dialect = engine.dialect

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if has_request_context() and request.method in READ_ONLY_METHODS:
            dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")
            record.info[_AUTOCOMMIT] = True

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(_AUTOCOMMIT, False) and dbapi_connection is not None:
            dialect.reset_isolation_level(dbapi_connection)


def _guard_session_teardown(app: Flask) -> None:
    """Flask-SQLAlchemy's end-of-request ``session.remove()`` can raise when the database has
    just dropped the connection; it runs outside every error handler, so it would become a bare
    HTML 500. Log it instead: the response is already decided."""
    funcs = app.teardown_appcontext_funcs
    for index, func in enumerate(funcs):
        if getattr(func, "__func__", None) is SQLAlchemy._teardown_session:
            original = func

            def guarded(exc: BaseException | None, _original: Any = original) -> None:
                try:
                    _original(exc)
                except Exception:
                    log.warning("closing the database session failed", exc_info=True)

            funcs[index] = guarded
