"""Totals kept by the database itself, so lists need not count every row per request."""

from __future__ import annotations

from sqlalchemy import BigInteger, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.article import Article

ARTICLES = "articles"


class Counter(db.Model):
    """``articles``: the number of rows in ``articles``, maintained by triggers on that table
    (see the migration), so it stays exact for every writer: the API, cascading deletes of
    users, bulk loads and hand-written SQL."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


def repair_article_counter() -> tuple[int | None, int]:
    """Set the ``articles`` counter to the real number of articles (recreating the row if it
    was deleted by hand); returns what it said before (None: missing) and what it says now.
    The triggers keep it exact otherwise, so this is maintenance, never part of a request."""
    rows = db.session.scalar(select(func.count()).select_from(Article))
    counter = db.session.get(Counter, ARTICLES)
    before = None if counter is None else counter.value
    if counter is None:
        db.session.add(Counter(name=ARTICLES, value=rows))
    else:
        counter.value = rows
    db.session.commit()
    return before, int(rows or 0)
