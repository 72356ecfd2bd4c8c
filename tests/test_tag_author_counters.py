"""A tag's and an author's ``articlesCount`` come from counters kept exact by triggers on
``article_tags`` and ``articles`` (rows ``tag:<id>``, ``author:<id>``), through every write."""

from sqlalchemy import text

from app.extensions import db
from tests.conftest import auth_header, register

REAL_COUNTS = """
SELECT 'tag:' || tags.id, (SELECT count(*) FROM article_tags WHERE tag_id = tags.id) FROM tags
UNION ALL
SELECT 'author:' || users.id, (SELECT count(*) FROM articles WHERE author_id = users.id)
FROM users
"""


def stored_and_real(app):
    """Every per-key counter row as stored, and what it should say (one per tag and user)."""
    with app.app_context():
        stored = dict(
            db.session.execute(
                text("SELECT name, value FROM counters WHERE name <> 'articles'")
            ).all()
        )
        real = dict(db.session.execute(text(REAL_COUNTS)).all())
        db.session.remove()
    return stored, real


def assert_exact(app):
    stored, real = stored_and_real(app)
    assert stored == real


def create(client, token, title, tags):
    article = {"title": title, "description": "d", "body": "b", "tagList": tags}
    response = client.post("/api/articles", json={"article": article}, headers=auth_header(token))
    assert response.status_code == 201
    return response.get_json()["article"]["slug"]


def count_of(client, **query):
    return client.get("/api/articles", query_string=query).get_json()["articlesCount"]


def test_new_users_and_tags_start_at_zero(app, client):
    register(client, "ann")
    stored, _ = stored_and_real(app)
    assert list(stored.values()) == [0]
    assert_exact(app)


def test_creating_articles_with_tags_counts_them(app, client):
    token = register(client, "ann")["token"]
    create(client, token, "One", ["red", "blue"])
    create(client, token, "Two", ["red"])
    create(client, register(client, "bob")["token"], "Three", ["blue", "green"])

    assert_exact(app)
    assert (count_of(client, tag="red"), count_of(client, tag="blue")) == (2, 2)
    assert (count_of(client, author="ann"), count_of(client, author="BOB")) == (2, 1)


def test_replacing_an_articles_tags_moves_its_counts(app, client):
    token = register(client, "ann")["token"]
    slug = create(client, token, "One", ["red", "blue"])
    create(client, token, "Two", ["red"])

    changes = {"article": {"tagList": ["blue", "green"]}}
    response = client.put(f"/api/articles/{slug}", json=changes, headers=auth_header(token))

    assert response.status_code == 200
    assert_exact(app)
    assert [count_of(client, tag=tag) for tag in ("red", "blue", "green")] == [1, 1, 1]


def test_deleting_an_article_uncounts_it_from_its_tags_and_author(app, client):
    token = register(client, "ann")["token"]
    slug = create(client, token, "One", ["red", "blue"])
    create(client, token, "Two", ["red"])

    assert client.delete(f"/api/articles/{slug}", headers=auth_header(token)).status_code == 204

    assert_exact(app)  # the links went by ON DELETE CASCADE, and their triggers fired
    assert (count_of(client, tag="red"), count_of(client, tag="blue")) == (1, 0)
    assert count_of(client, author="ann") == 1


def test_deleting_a_user_removes_their_row_and_uncounts_their_articles(app, client):
    create(client, register(client, "ann")["token"], "One", ["red"])
    create(client, register(client, "bob")["token"], "Two", ["red"])
    with app.app_context():
        db.session.execute(text("DELETE FROM users WHERE username = 'ann'"))
        db.session.commit()

    assert_exact(app)
    assert count_of(client, tag="red") == 1


def test_an_unknown_tag_or_author_counts_zero(app, client):
    create(client, register(client, "ann")["token"], "One", ["red"])

    assert (count_of(client, tag="nope"), count_of(client, author="nobody")) == (0, 0)


def test_a_missing_row_is_counted_around_without_writing(app, client):
    token = register(client, "ann")["token"]
    create(client, token, "One", ["red"])
    create(client, token, "Two", ["red"])
    with app.app_context():
        db.session.execute(text("DELETE FROM counters WHERE name <> 'articles'"))
        db.session.commit()

    assert (count_of(client, tag="red"), count_of(client, author="ann")) == (2, 2)
    assert stored_and_real(app)[0] == {}  # a GET never writes


def test_counters_repair_rebuilds_wrong_and_missing_rows(app, client):
    token = register(client, "ann")["token"]
    create(client, token, "One", ["red", "blue"])
    with app.app_context():
        db.session.execute(text("DELETE FROM counters WHERE name LIKE 'tag:%'"))
        db.session.execute(text("UPDATE counters SET value = 7 WHERE name LIKE 'author:%'"))
        db.session.execute(text("INSERT INTO counters (name, value) VALUES ('tag:999', 3)"))
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["counters", "repair"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "tag counters: 3 corrected",
        "author counters: 1 corrected",
    ]
    assert_exact(app)
    assert count_of(client, author="ann") == 1
