"""How the app uses its database: SQLite pragmas, reads in autocommit, and how each request's
session ends."""

from __future__ import annotations

import logging
import select
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

from app.extensions import db
from app.methods import READ_METHODS
from app.observability.metrics_pool import watch_pool

log = logging.getLogger(__name__)

_AUTOCOMMIT = "autocommit_for_reads"


def configure_database(app: Flask) -> None:
    """Bind the per-connection behaviour to ``app``'s engine (its teardown is in the pipeline),
    and with ``METRICS_ENABLED`` the pool gauges."""
    _configure_sqlite(app)
    _discard_dropped_connections(app)
    _autocommit_read_only_requests(app)
    if app.config["METRICS_ENABLED"]:
        with app.app_context():
            max_overflow = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("max_overflow")
            watch_pool(db.engine, max_overflow)


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
        # WAL: readers do not block the writer (nor it them) under gunicorn's threads.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _discard_dropped_connections(app: Flask) -> None:
    """Never hand a request a PostgreSQL connection the server has already closed, without a
    round trip: the pool's pre-ping (``SELECT 1`` on every checkout) was one statement of the
    two or three a typical request runs.

    A server that ends a session (restart, ``pg_terminate_backend``, the idle timeout of a
    proxy) sends its FATAL message and closes the socket, so an idle pooled connection whose
    socket has anything to read is dead. Raising ``DisconnectionError`` at checkout makes the
    pool discard it and check out another (or connect anew). A connection that dies while in
    use still fails that one request with the contract's 503, and SQLAlchemy then invalidates
    every connection the pool made before it.
    """
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not is_usable(dbapi_connection):
            raise DisconnectionError("the server closed this pooled connection")


def is_usable(dbapi_connection: Any) -> bool:
    """False if the psycopg connection is closed or its socket has unread input (in idle, only
    the server's goodbye and end-of-file): a poll with a zero timeout, no I/O."""
    if dbapi_connection.closed:
        return False
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    return not poller.poll(0)


def _autocommit_read_only_requests(app: Flask) -> None:
    """Connections checked out for a GET, HEAD or OPTIONS request run in autocommit, as every
    statement does in Django by default; requests that write keep one transaction each.

    Under READ COMMITTED (PostgreSQL's default) every statement takes its own snapshot anyway,
    so a read-only request sees exactly what it would inside a transaction, while it saves the
    ``BEGIN`` and ``ROLLBACK`` round trips. It also keeps prepared statements: psycopg forgets
    all of a connection's prepared statements on ROLLBACK (``DEALLOCATE ALL``), which would plan
    the hot read statements anew on every request; without one, a statement run five times on
    a pooled connection is prepared once (psycopg's ``prepare_threshold``).
    """
    with app.app_context():
        engine = db.engine
    dialect = engine.dialect

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if has_request_context() and request.method in READ_METHODS:
            dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")
            record.info[_AUTOCOMMIT] = True

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(_AUTOCOMMIT, False) and dbapi_connection is not None:
            dialect.reset_isolation_level(dbapi_connection)


def close_database_session(_error: BaseException | None) -> None:
    """End the request's session, as Flask-SQLAlchemy's own teardown would, but without letting
    a connection the database has just dropped raise here: teardown runs outside every error
    handler, so that would become a bare HTML 500 for a request already answered. Registered
    after Flask-SQLAlchemy's teardown, so it runs before it (Flask runs teardowns in reverse),
    and Flask-SQLAlchemy then finds the session already removed."""
    try:
        db.session.remove()
    except Exception:
        log.warning("closing the database session failed", exc_info=True)
