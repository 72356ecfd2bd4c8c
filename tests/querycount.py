"""Count the SQL statements the app sends to its database while a block runs.

    with count_statements(app) as statements:
        client.get("/api/articles")
    assert statements.count == 3, statements.report()

Every statement SQLAlchemy executes on the app's engine is seen through the engine's
``before_cursor_execute`` event, whichever request, session or connection issues it. Transaction
bookkeeping (BEGIN, SAVEPOINT, RELEASE, COMMIT, ROLLBACK) is not counted: it is not a query.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import event

from app.extensions import db

NOISE = ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK")


@dataclass
class StatementLog:
    """The statements seen so far, in order."""

    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def report(self) -> str:
        """Every statement, numbered, for an assertion message."""
        lines = [f"{self.count} statement(s):"]
        lines += [f"  {n}. {' '.join(sql.split())}" for n, sql in enumerate(self.statements, 1)]
        return "\n".join(lines)


def is_noise(statement: str) -> bool:
    return statement.lstrip().upper().startswith(NOISE)


@contextmanager
def count_statements(app: Flask) -> Iterator[StatementLog]:
    """Record the statements the app's engine executes inside the ``with`` block."""
    with app.app_context():
        engine = db.engine  # one engine per app, shared by every request's app context
    log = StatementLog()

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        if not is_noise(statement):
            log.statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", record)
