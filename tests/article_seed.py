"""Articles inserted straight into the database (cheaper than the API) for list and feed tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Article, User


def seed(app: Flask, username: str, count: int) -> list[str]:
    """``count`` articles by ``username``, one second apart; returns their slugs newest first."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with app.app_context():
        author_id = db.session.scalar(select(User.id).where(User.username == username))
        db.session.add_all(
            Article(
                slug=f"{username}-{n}",
                title=f"{username} {n}",
                description="seeded",
                body="seeded body",
                author_id=author_id,
                created_at=base + timedelta(seconds=n),
                updated_at=base + timedelta(seconds=n),
            )
            for n in range(count)
        )
        db.session.commit()
    return [f"{username}-{n}" for n in reversed(range(count))]


def slugs(body: dict[str, Any]) -> list[str]:
    """The slugs of a list response's articles, in order."""
    return [article["slug"] for article in body["articles"]]
