"""How the list queries scale, read from PostgreSQL's own plans (EXPLAIN ANALYZE) on a seeded
database: what a page and a total cost must not grow with the rows skipped or counted. On
PostgreSQL whatever the suite's main backend (plans are PostgreSQL's)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from app.api import matching, read
from app.api.read import ArticleFilters
from app.cli.seed import seed_database
from app.extensions import db
from tests.conftest import postgres_app

ARTICLES = 400


@pytest.fixture(scope="module")
def seeded(postgres_server_url: str) -> Iterator[Flask]:
    with postgres_app(postgres_server_url) as app:
        with app.app_context():
            seed_database(
                db.engine.connect(),
                users=20,
                articles=ARTICLES,
                follows_per_user=5,
                favorites_per_article=5,
                comments_per_article=0,
                rng=random.Random(1),
                password_hash="!",
            )
        yield app


def plan(app: Flask, statement: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The executed plan of ``statement`` (EXPLAIN ANALYZE, as JSON)."""
    with app.app_context():
        return plan_in_session(statement, params)


def plan_in_session(statement: Any, params: dict[str, Any]) -> dict[str, Any]:
    connection = db.session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    values = {name: params.get(name) for name in compiled.params}
    sql = "EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled)
    return connection.exec_driver_sql(sql, values).scalar_one()[0]["Plan"]


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from nodes(child)


def first_username(app: Flask, sql: str) -> str:
    with app.app_context():
        return db.session.execute(text(sql)).scalar_one()


def test_a_deep_offset_builds_only_the_rows_of_the_page(seeded: Flask) -> None:
    # Before, every skipped article got its author, tags and favorites count built and thrown
    # away: 7.5 s for the last page of a million articles (bench/README.md).
    statement = read._article_statement("postgresql", True, False, ArticleFilters().shape())
    params = {"viewer_id": 1, "limit": 5, "offset": ARTICLES - 10}

    executed = plan(seeded, statement, params)

    per_row = [n for n in nodes(executed) if n.get("Parent Relationship") == "SubPlan"]
    assert per_row, "the flags, count and tags are sub-plans"
    assert all(n["Actual Loops"] <= 5 for n in per_row), [
        (n["Node Type"], n["Actual Loops"]) for n in per_row
    ]


def test_the_count_of_a_tag_reads_its_links_only(seeded: Flask) -> None:
    statement = matching.count_statement(ArticleFilters(tag="python").shape())

    relations = {n.get("Relation Name") for n in nodes(plan(seeded, statement, {"tag": "python"}))}

    assert relations - {None} == {"article_tags", "tags"}


def test_the_total_of_a_tag_or_an_author_is_one_counter_row(seeded: Flask) -> None:
    author = first_username(seeded, "SELECT username FROM users ORDER BY id LIMIT 1")
    for filters, owners in (
        (ArticleFilters(tag="python"), "tags"),
        (ArticleFilters(author=author), "users"),
    ):
        executed = plan(seeded, matching.counter_statement(filters.shape()), filters.params())

        assert {n.get("Relation Name") for n in nodes(executed)} - {None} == {"counters", owners}


def test_a_rare_tags_page_is_one_range_of_its_links(seeded: Flask) -> None:
    # Walking the articles newest first, probing each for the tag, cost 1.7 s for the first
    # page of a tag only the oldest of a million articles carries (bench/README.md).
    with seeded.app_context():
        db.session.execute(text("INSERT INTO tags (name) VALUES ('rare')"))
        db.session.execute(
            text(
                "INSERT INTO article_tags (article_id, tag_id, created_at)"
                " SELECT id, (SELECT id FROM tags WHERE name = 'rare'), created_at"
                " FROM articles ORDER BY created_at LIMIT 1"
            )
        )
        oldest = db.session.execute(
            text("SELECT created_at, id FROM articles ORDER BY created_at LIMIT 1 OFFSET 1")
        ).one()
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # as on a large table
        db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
        shape = ArticleFilters(tag="rare").shape()
        params = {"tag": "rare", "viewer_id": 1, "limit": 5, "offset": 0}
        first = plan_in_session(read._article_statement("postgresql", True, False, shape), params)
        after = plan_in_session(
            read._article_statement("postgresql", True, False, shape, True),
            {**params, "before_at": oldest.created_at, "before_id": oldest.id},
        )
        db.session.rollback()

    for executed, rows in ((first, 1), (after, 1)):
        links = [n for n in nodes(executed) if n.get("Relation Name") == "article_tags"]
        page = [
            n
            for n in links
            if n.get("Index Name") == "ix_article_tags_tag_id_created_at_article_id"
        ]
        assert page and page[0]["Actual Rows"] == rows, [
            (n.get("Index Name"), n["Actual Rows"]) for n in links
        ]
        articles = [n for n in nodes(executed) if n.get("Relation Name") == "articles"]
        assert all(n["Actual Rows"] * n["Actual Loops"] <= 1 for n in articles), articles


def test_the_count_of_a_users_favorites_reads_their_favorites_only(seeded: Flask) -> None:
    fan = first_username(seeded, "SELECT username FROM users ORDER BY id LIMIT 1")
    statement = matching.count_statement(ArticleFilters(favorited=fan).shape())

    executed = plan(seeded, statement, {"favorited": fan})

    assert {n.get("Relation Name") for n in nodes(executed)} - {None} == {"favorites", "users"}


def test_the_single_filter_counts_equal_the_articles_listed(seeded: Flask) -> None:
    fan = first_username(seeded, "SELECT username FROM users ORDER BY id LIMIT 1")
    client = seeded.test_client()
    for params in ({"tag": "python"}, {"favorited": fan}):
        listed, offset = 0, 0
        while True:
            body = client.get(
                "/api/articles", query_string={**params, "limit": 100, "offset": offset}
            ).get_json()
            listed += len(body["articles"])
            offset += 100
            if not body["articles"]:
                break
        assert body["articlesCount"] == listed > 0, params


def test_a_feed_page_is_read_from_the_author_index_alone(seeded: Flask) -> None:
    # (author_id, created_at) without the id made the feed of prolific authors fetch every one
    # of their articles from the table to sort them: 1.7 s for 131,710 articles.
    reader = first_username(seeded, "SELECT min(follower_id)::text FROM follows")
    statement = read._article_statement(
        "postgresql", True, False, ArticleFilters(feed_of=1).shape()
    )
    with seeded.app_context():
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # as on a large table
        db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
        executed = plan_in_session(
            statement, {"feed_of": int(reader), "viewer_id": 1, "limit": 5, "offset": 0}
        )

    scans = {
        (n["Node Type"], n.get("Index Name"))
        for n in nodes(executed)
        if n.get("Relation Name") == "articles" and n.get("Alias") == "articles_1"
    }
    assert scans == {("Index Only Scan", "ix_articles_author_id_created_at_id")}, scans
