"""Totals kept by the database itself, so lists need not count every row per request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.article import Article, Tag, article_tags
from app.models.user import User

ARTICLES = "articles"


class Counter(db.Model):
    """``articles``: the number of rows in ``articles``, maintained by triggers on that table
    (see the migration), so it stays exact for every writer: the API, cascading deletes of
    users, bulk loads and hand-written SQL. ``tag:<id>`` and ``author:<id>``: the articles of
    one tag and of one author, likewise (inserts and deletes; an UPDATE moving an article to
    another author or a link to another tag by hand is not followed: ``flask counters
    repair``)."""

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


# Per-key counts, by the same triggers' kin (migration e5b2a7c9d401): one row per tag and per
# user, made at zero with it and removed with it.
TAG_PREFIX = "tag:"
AUTHOR_PREFIX = "author:"


def keyed_name(prefix: str, key: Any) -> ColumnElement[str]:
    """The counter name of ``key`` (an id column or sub-query) as SQL: ``prefix || key``."""
    # Inline, not a bound parameter: the prefixes are constants, and plans read plainly.
    return literal_column(f"'{prefix}'", String) + cast(key, String)


def _keyed() -> tuple[tuple[str, Any, Any], ...]:
    """(name prefix, the counted column, the owners' id column) of every per-key counter."""
    return (
        (TAG_PREFIX, article_tags.c.tag_id, Tag.id),
        (AUTHOR_PREFIX, Article.author_id, User.id),
    )


def repair_keyed_counters() -> dict[str, int]:
    """Recount every tag's and every author's articles into their rows (recreating missing
    ones, removing those of no tag or user); returns, per prefix, how many rows were wrong."""
    corrected = {}
    for prefix, counted, owner_id in _keyed():
        real = (
            select(func.count()).select_from(counted.table).where(counted == owner_id)
        ).scalar_subquery()
        stored = (
            select(Counter.value).where(Counter.name == keyed_name(prefix, owner_id))
        ).scalar_subquery()
        owners = owner_id.table
        wrong = select(func.count()).select_from(owners).where(stored.is_distinct_from(real))
        stale = (
            select(func.count())
            .select_from(Counter)
            .where(
                Counter.name.startswith(prefix, autoescape=True),
                ~Counter.name.in_(select(keyed_name(prefix, owner_id))),
            )
        )
        corrected[prefix] = int(db.session.scalar(wrong) or 0) + int(db.session.scalar(stale) or 0)
        db.session.execute(delete(Counter).where(Counter.name.startswith(prefix, autoescape=True)))
        db.session.execute(
            insert(Counter).from_select(
                ["name", "value"], select(keyed_name(prefix, owner_id), real)
            )
        )
    db.session.commit()
    return corrected
