"""Totals kept by the database itself, so lists need not count every row per request."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

ARTICLES = "articles"


class Counter(db.Model):
    """``articles``: the number of rows in ``articles``, maintained by triggers on that table
    (see the migration), so it stays exact for every writer: the API, cascading deletes of
    users, bulk loads and hand-written SQL."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
