"""The unfiltered ``articlesCount`` comes from a counter kept exact by triggers on ``articles``."""

from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Article, Counter, User
from tests.conftest import auth_header, register


def counter_and_rows(app):
    with app.app_context():
        counter = db.session.scalar(select(Counter.value).where(Counter.name == "articles"))
        rows = db.session.scalar(select(func.count()).select_from(Article))
        db.session.remove()
    return counter, rows


def create(client, token, title):
    response = client.post(
        "/api/articles",
        json={"article": {"title": title, "description": "d", "body": "b"}},
        headers=auth_header(token),
    )
    assert response.status_code == 201
    return response.get_json()["article"]["slug"]


def test_the_counter_follows_creates_and_deletes(app, client):
    token = register(client)["token"]
    slugs = [create(client, token, f"Title {i}") for i in range(3)]
    assert counter_and_rows(app) == (3, 3)
    assert client.delete(f"/api/articles/{slugs[0]}", headers=auth_header(token)).status_code == 204
    assert counter_and_rows(app) == (2, 2)
    assert client.get("/api/articles").get_json()["articlesCount"] == 2


def test_the_counter_follows_deletes_that_cascade_from_a_user(app, client):
    token = register(client, "ann")["token"]
    create(client, token, "One")
    create(client, token, "Two")
    other = register(client, "bob")["token"]
    create(client, other, "Three")
    with app.app_context():
        db.session.execute(text("DELETE FROM users WHERE username = 'ann'"))
        db.session.commit()
    assert counter_and_rows(app) == (1, 1)
    assert client.get("/api/articles").get_json()["articlesCount"] == 1


def two_articles_and_no_counter(app, client) -> None:
    token = register(client)["token"]
    create(client, token, "One")
    create(client, token, "Two")
    with app.app_context():
        db.session.execute(text("DELETE FROM counters"))
        db.session.commit()


def test_a_missing_counter_row_is_counted_around_without_writing(app, client):
    two_articles_and_no_counter(app, client)

    assert client.get("/api/articles").get_json()["articlesCount"] == 2
    assert counter_and_rows(app) == (None, 2)  # a GET never writes


def test_counters_repair_puts_a_missing_row_back(app, client):
    two_articles_and_no_counter(app, client)

    result = app.test_cli_runner().invoke(args=["counters", "repair"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "articles counter: 2 (was missing)"
    assert counter_and_rows(app) == (2, 2)


def test_counters_repair_corrects_a_value_changed_by_hand(app, client):
    create(client, register(client)["token"], "One")
    with app.app_context():
        db.session.execute(text("UPDATE counters SET value = 40 WHERE name = 'articles'"))
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["counters", "repair"])

    assert result.output.splitlines()[0] == "articles counter: 1 (was 40)"
    assert counter_and_rows(app) == (1, 1)
    assert client.get("/api/articles").get_json()["articlesCount"] == 1


def test_filtered_lists_still_count_their_matches(app, client):
    token = register(client, "ann")["token"]
    create(client, token, "One")
    create(client, register(client, "bob")["token"], "Two")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 2
    body = client.get("/api/articles?author=ann").get_json()
    assert body["articlesCount"] == 1
