"""``flask seed``: the numbers asked for, valid relationships, unique slugs, distinct timestamps,
a seeded user who logs in with the printed password, reproducibility, and no seeding of a
production database without ``--force``. Runs on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from app.api.write import slugify
from app.cli import seed as seed_module
from app.extensions import db
from app.models import Article, Comment, Favorite, Follow, Tag, User, article_tags
from tests.conftest import auth_header, build_app, create_postgres_database, register

SMALL = ["--users", "8", "--articles", "30", "--follows-per-user", "4"]
SMALL += ["--favorites-per-article", "3", "--comments-per-article", "4", "--seed", "7"]
PRODUCTION_ENV = {
    "SECRET_KEY": "seed-test-secret-key-0123456789abcdef",
    "JWT_SECRET_KEY": "seed-test-jwt-secret-0123456789abcdef",
    "CORS_ORIGINS": "https://app.example.com",
}


def run_seed(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["seed", *args])
    assert result.exit_code == 0, result.output
    return result


def count(table: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(table)) or 0


def scalars(sql: str) -> list[Any]:
    return list(db.session.scalars(text(sql)))


def printed_counts(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith("inserted "))
    return {name: int(n) for n, name in re.findall(r"(\d+) ([a-z ]+?)(?:,|$)", line)}


def test_seed_inserts_the_numbers_asked_for_and_reports_them(app: Flask, client: Any) -> None:
    result = run_seed(app, *SMALL)

    with app.app_context():
        actual = {
            "users": count(User),
            "follows": count(Follow),
            "articles": count(Article),
            "article tags": count(article_tags),
            "favorites": count(Favorite),
            "comments": count(Comment),
        }
        assert count(Tag) == len(seed_module.TAG_POOL)
    assert printed_counts(result.output) == actual
    assert actual["users"] == 8
    assert actual["articles"] == 30
    assert 0 < actual["follows"] <= 8 * 4
    assert 0 < actual["article tags"] <= 30 * 5
    assert 0 < actual["favorites"] <= 30 * 3
    assert 0 < actual["comments"] <= 30 * 4
    # The API sees them all: its total counts bulk-loaded rows too.
    listed = client.get("/api/articles?limit=1").get_json()
    assert listed["articlesCount"] == 30
    assert client.get("/api/tags").get_json()["tags"]


def test_seeding_leaves_every_tag_and_author_count_exact(app: Flask, client: Any) -> None:
    run_seed(app, *SMALL)
    run_seed(app, *SMALL[:-1], "8")  # adding to what is there: counted on top

    with app.app_context():
        stored = dict(
            db.session.execute(
                text("SELECT name, value FROM counters WHERE name <> 'articles'")
            ).all()
        )
        real = dict(
            db.session.execute(
                text(
                    "SELECT 'tag:' || t.id, (SELECT count(*) FROM article_tags WHERE tag_id = t.id)"
                    " FROM tags t UNION ALL SELECT 'author:' || u.id,"
                    " (SELECT count(*) FROM articles WHERE author_id = u.id) FROM users u"
                )
            ).all()
        )
        tag_id, tag = db.session.execute(
            text("SELECT id, name FROM tags ORDER BY id LIMIT 1")
        ).one()
    assert stored == real
    listed = client.get(f"/api/articles?tag={tag}").get_json()
    assert listed["articlesCount"] == real[f"tag:{tag_id}"]


def test_seeded_relationships_are_valid(app: Flask) -> None:
    run_seed(app, *SMALL)

    with app.app_context():
        orphans = """
            SELECT count(*) FROM articles a LEFT JOIN users u ON u.id = a.author_id
             WHERE u.id IS NULL
            UNION ALL SELECT count(*) FROM comments c
              LEFT JOIN articles a ON a.id = c.article_id LEFT JOIN users u ON u.id = c.author_id
             WHERE a.id IS NULL OR u.id IS NULL
            UNION ALL SELECT count(*) FROM favorites f
              LEFT JOIN articles a ON a.id = f.article_id LEFT JOIN users u ON u.id = f.user_id
             WHERE a.id IS NULL OR u.id IS NULL
            UNION ALL SELECT count(*) FROM article_tags x
              LEFT JOIN articles a ON a.id = x.article_id LEFT JOIN tags t ON t.id = x.tag_id
             WHERE a.id IS NULL OR t.id IS NULL
            UNION ALL SELECT count(*) FROM follows f
              LEFT JOIN users a ON a.id = f.follower_id LEFT JOIN users b ON b.id = f.followee_id
             WHERE a.id IS NULL OR b.id IS NULL OR f.follower_id = f.followee_id
        """
        assert scalars(orphans) == [0, 0, 0, 0, 0]
        # Nothing happens before what it refers to; edits come after creation.
        assert scalars(
            "SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id"
            " WHERE c.created_at < a.created_at"
            " UNION ALL SELECT count(*) FROM favorites f JOIN articles a ON a.id = f.article_id"
            " WHERE f.created_at < a.created_at"
            " UNION ALL SELECT count(*) FROM articles WHERE updated_at < created_at"
        ) == [0, 0, 0]
        assert max(scalars("SELECT count(*) FROM article_tags GROUP BY article_id")) <= 5
        assert set(scalars("SELECT name FROM tags")) == set(seed_module.TAG_POOL)
        users = db.session.scalars(select(User)).all()
        assert len({u.password_hash for u in users}) == 1  # one hash, computed once
        assert all(u.email.endswith("@example.com") and "@" not in u.username for u in users)


def test_slugs_are_unique_and_derived_from_titles_and_timestamps_are_distinct(
    app: Flask,
) -> None:
    run_seed(app, *SMALL)

    with app.app_context():
        articles = db.session.scalars(select(Article)).all()
        assert len({a.slug for a in articles}) == len(articles) == 30
        for article in articles:
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", article.slug)
            assert article.slug.startswith(slugify(article.title) + "-")
        for table in ("users", "articles", "comments", "favorites", "follows"):
            total, distinct = db.session.execute(
                text(f"SELECT count(*), count(DISTINCT created_at) FROM {table}")
            ).one()
            assert total == distinct, table
        # Newest first by created_at is the same order as by id: realistic, and stable.
        by_time = scalars("SELECT id FROM articles ORDER BY created_at DESC")
        assert by_time == sorted(by_time, reverse=True)


def test_a_seeded_user_logs_in_with_the_printed_password(app: Flask, client: Any) -> None:
    output = run_seed(app, *SMALL).output

    password = re.search(r"every seeded user's password: (\S+)", output)
    email = re.search(r"log in as e\.g\. (\S+) / ", output)
    assert password and email
    assert password.group(1) == "password123"
    response = client.post(
        "/api/users/login", json={"user": {"email": email.group(1), "password": password.group(1)}}
    )
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["user"]["token"]
    assert client.get("/api/user", headers=auth_header(token)).status_code == 200


def test_the_shared_password_can_be_chosen_but_not_too_short(app: Flask, client: Any) -> None:
    runner = app.test_cli_runner()
    short = runner.invoke(args=["seed", "--users", "2", "--articles", "0", "--password", "short"])
    assert short.exit_code == 2
    assert "--password" in short.output

    output = run_seed(app, "--users", "2", "--articles", "0", "--password", "open sesame!").output
    email = re.search(r"log in as e\.g\. (\S+) / open sesame!", output)
    assert email
    login = {"user": {"email": email.group(1), "password": "open sesame!"}}
    assert client.post("/api/users/login", json=login).status_code == 200


def _content(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context():
        articles = db.session.execute(
            text(
                "SELECT a.slug, a.title, a.description, a.body, u.username,"
                " (SELECT count(*) FROM comments c WHERE c.article_id = a.id),"
                " (SELECT count(*) FROM favorites f WHERE f.article_id = a.id)"
                " FROM articles a JOIN users u ON u.id = a.author_id ORDER BY a.id"
            )
        )
        return [tuple(row) for row in articles]


def _empty_database(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


def test_the_same_seed_gives_the_same_content(app: Flask) -> None:
    run_seed(app, *SMALL)
    first = _content(app)
    _empty_database(app)
    run_seed(app, *SMALL)

    assert _content(app) == first
    _empty_database(app)
    run_seed(app, *SMALL[:-1], "8")
    assert _content(app) != first


def test_seeding_adds_to_existing_data_and_the_api_keeps_working(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The large-load path too: foreign keys dropped for the load and re-created (PostgreSQL).
    monkeypatch.setattr(seed_module, "DROP_FOREIGN_KEYS_FROM", 1)
    existing = register(client, "existing")
    run_seed(app, *SMALL)
    run_seed(app, *SMALL)

    with app.app_context():
        assert count(User) == 1 + 2 * 8
        assert count(Article) == 2 * 30
        assert count(Tag) == len(seed_module.TAG_POOL)
        assert len(set(scalars("SELECT slug FROM articles"))) == 60
        if db.engine.dialect.name == "postgresql":
            assert scalars(
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                " AND conrelid::regclass::text IN ('articles', 'comments', 'favorites',"
                " 'article_tags', 'follows')"
            ) == [9]
            # Vacuumed after the load: counts are index-only scans from the first request on.
            assert scalars(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'articles'"
                " AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL"
            ) == [1]
    # New rows from the API get ids after the seeded ones (sequences moved on PostgreSQL).
    newcomer = register(client, "newcomer")
    assert client.get("/api/user", headers=auth_header(newcomer["token"])).status_code == 200
    assert client.get("/api/user", headers=auth_header(existing["token"])).status_code == 200
    with app.app_context():
        # Foreign keys with ON DELETE CASCADE still hold after the load.
        author_id = db.session.scalar(select(Article.author_id).limit(1))
        db.session.execute(User.__table__.delete().where(User.id == author_id))
        db.session.commit()
        assert not scalars(f"SELECT id FROM articles WHERE author_id = {author_id}")


def test_production_is_refused_without_force(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    production = make_app("production", DATABASE_URL=database_url, **PRODUCTION_ENV)
    try:
        refused = production.test_cli_runner().invoke(args=["seed", *SMALL])
        assert refused.exit_code == 1
        assert "APP_ENV=production" in refused.output
        assert "--force" in refused.output
        with production.app_context():
            assert count(User) == count(Article) == 0

        forced = production.test_cli_runner().invoke(
            args=["seed", "--users", "2", "--articles", "3", "--force"]
        )
        assert forced.exit_code == 0, forced.output
        with production.app_context():
            assert count(User) == 2
            assert count(Article) == 3
    finally:
        with production.app_context():
            db.engine.dispose()


def test_times_are_distinct_within_a_table_without_remembering_them() -> None:
    fake = seed_module._Faker(random.Random(3), datetime(2026, 1, 1, tzinfo=UTC))
    low, high = fake.now_us - 10_000, fake.now_us
    fake.distinct(5000)  # more rows than µs in two spreads of the window: it widens

    times = [fake.moment(low, high) for _ in range(5000)]

    assert len(set(times)) == 5000
    assert min(times) >= low
    assert not hasattr(fake, "used_us")  # the set of every time a million articles made 700 MB


def test_times_drawn_in_a_wide_window_stay_inside_it() -> None:
    fake = seed_module._Faker(random.Random(3), datetime(2026, 1, 1, tzinfo=UTC))
    low = fake.now_us - seed_module.DAY_US
    fake.distinct(10_000)

    times = [fake.moment(low) for _ in range(10_000)]

    assert len(set(times)) == 10_000
    assert low <= min(times) and max(times) <= fake.now_us


def test_article_times_are_made_in_order_one_at_a_time() -> None:
    spaced = seed_module._spaced(random.Random(5), 1000, 0, 10**9)

    assert isinstance(spaced, Iterator)  # a generator: no list of a million times, no sort
    times = list(spaced)
    assert times == sorted(set(times)) and len(times) == 1000
    assert times[0] >= 0 and times[-1] < 10**9


def test_a_load_longer_than_the_apps_statement_timeout_completes(
    postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's engine cancels any statement after DB_STATEMENT_TIMEOUT_MS (meant for
    # requests); a million articles' COPY ran longer and was cancelled half-way.
    url, drop = create_postgres_database(postgres_server_url)
    app = build_app(url, DB_STATEMENT_TIMEOUT_MS="50")
    slow_insert = seed_module.bulk_insert

    def slower(connection: Any, *args: Any) -> int:
        connection.execute(text("SELECT pg_sleep(0.1)"))  # a load statement longer than 50 ms
        return slow_insert(connection, *args)

    monkeypatch.setattr(seed_module, "bulk_insert", slower)
    try:
        with app.app_context():
            upgrade()
        result = app.test_cli_runner().invoke(args=["seed", *SMALL])
        assert result.exit_code == 0, result.output
        with app.app_context():
            assert count(Article) == 30
            # The pool's connections keep the app's limit for the requests after the load.
            assert db.session.scalar(text("SHOW statement_timeout")) == "50ms"
            db.engine.dispose()
    finally:
        drop()
