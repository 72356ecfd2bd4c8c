"""The favorite writes cost a fixed, small number of database round trips: the token's user
lookup, one statement that writes, one that reads the answer, all in one transaction.

Statements are counted as in tests/test_query_counts.py; transactions through the engine's
``begin`` event (each one is a BEGIN and a COMMIT or ROLLBACK on the wire).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from app.extensions import db
from tests.conftest import auth_header, register
from tests.querycount import count_statements

ARTICLE = {"article": {"title": "Counted", "description": "d", "body": "b"}}


@contextmanager
def count_transactions(app: Any) -> Iterator[list[int]]:
    with app.app_context():
        engine = db.engine
    begun: list[int] = []

    def record(_connection: Any) -> None:
        begun.append(1)

    event.listen(engine, "begin", record)
    try:
        yield begun
    finally:
        event.remove(engine, "begin", record)


@pytest.fixture
def slug_and_fan(client) -> tuple[str, dict[str, str]]:
    author = register(client, "author")["token"]
    created = client.post("/api/articles", json=ARTICLE, headers=auth_header(author))
    fan = auth_header(register(client, "fan")["token"])
    return created.get_json()["article"]["slug"], fan


def test_favorite_is_three_statements_in_one_transaction(app, client, slug_and_fan):
    slug, fan = slug_and_fan
    with count_statements(app) as statements, count_transactions(app) as transactions:
        answer = client.post(f"/api/articles/{slug}/favorite", headers=fan)

    assert answer.get_json()["article"]["favorited"] is True
    assert statements.count == 3, statements.report()  # user lookup, insert, read
    assert len(transactions) == 1


def test_unfavorite_is_three_statements_in_one_transaction(app, client, slug_and_fan):
    slug, fan = slug_and_fan
    client.post(f"/api/articles/{slug}/favorite", headers=fan)
    with count_statements(app) as statements, count_transactions(app) as transactions:
        answer = client.delete(f"/api/articles/{slug}/favorite", headers=fan)

    assert answer.get_json()["article"]["favorited"] is False
    assert statements.count == 3, statements.report()  # user lookup, delete, read
    assert len(transactions) == 1


def test_favoriting_again_adds_one_statement_to_tell_it_from_a_missing_article(
    app, client, slug_and_fan
):
    slug, fan = slug_and_fan
    client.post(f"/api/articles/{slug}/favorite", headers=fan)
    with count_statements(app) as statements:
        answer = client.post(f"/api/articles/{slug}/favorite", headers=fan)

    assert answer.status_code == 200
    assert answer.get_json()["article"]["favoritesCount"] == 1
    assert statements.count == 4, statements.report()


def test_favorite_of_a_missing_article_writes_nothing_and_answers_404(app, client, slug_and_fan):
    _slug, fan = slug_and_fan
    with count_statements(app) as statements:
        answer = client.post("/api/articles/no-such-article/favorite", headers=fan)

    assert answer.status_code == 404
    assert statements.count == 3, statements.report()  # user lookup, insert of nothing, check
