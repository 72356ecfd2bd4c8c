"""Every list endpoint runs a fixed, small number of SQL statements, whatever the page size.

The data is shaped so that loading anything per item (author, following, favorited,
favoritesCount, tags, comment authors) would show: several authors, every article tagged and
favorited by several users, the caller following some authors and favoriting some articles.
The exact counts are asserted so that any change shows up here first.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from app.extensions import db
from app.models import Article, Comment, Favorite, Follow, Tag, User, article_tags
from tests.conftest import auth_header, register
from tests.querycount import count_statements, is_noise

BASE = datetime(2026, 1, 1, tzinfo=UTC)
ARTICLES_BY = {"ann": 55, "ben": 10, "cy": 10, "dee": 10}  # ann alone fills a page of 50
FANS = ("fay", "gus", "hal")
TAGS = [f"tag{n}" for n in range(8)]
PAGE_SIZES = (1, 50)


def _add_users(names):
    users = [User(username=name, email=f"{name}@example.com", password_hash="!") for name in names]
    db.session.add_all(users)
    db.session.flush()
    return {user.username: user.id for user in users}


def _seed_articles(reader_id):
    """85 articles by 4 authors, each tagged "common" + 2 others, favorited by fay (all), gus
    (every 2nd), hal (every 3rd) and the reader (every 5th); reader follows ann and ben."""
    users = _add_users([*ARTICLES_BY, *FANS])
    tags = {name: Tag(name=name) for name in ["common", *TAGS]}
    db.session.add_all(tags.values())
    articles = []
    for author, count in ARTICLES_BY.items():
        for n in range(count):
            moment = BASE + timedelta(seconds=len(articles))
            slug = f"{author}-{n}"
            articles.append(
                Article(
                    slug=slug,
                    title=slug,
                    description="d",
                    body="b",
                    author_id=users[author],
                    created_at=moment,
                    updated_at=moment,
                )
            )
    db.session.add_all(articles)
    db.session.flush()
    links, favorites = [], []
    for i, article in enumerate(articles):
        for name in ("common", TAGS[i % 8], TAGS[(i + 3) % 8]):
            links.append(
                {
                    "article_id": article.id,
                    "tag_id": tags[name].id,
                    "created_at": article.created_at,
                }
            )
        for fan_id, every in [
            (users["fay"], 1),
            (users["gus"], 2),
            (users["hal"], 3),
            (reader_id, 5),
        ]:
            if i % every == 0:
                favorites.append({"user_id": fan_id, "article_id": article.id, "created_at": BASE})
    db.session.execute(insert(article_tags), links)
    db.session.execute(insert(Favorite), favorites)
    db.session.execute(
        insert(Follow),
        [
            {"follower_id": reader_id, "followee_id": users["ann"], "created_at": BASE},
            {"follower_id": reader_id, "followee_id": users["ben"], "created_at": BASE},
            {"follower_id": users["fay"], "followee_id": users["ann"], "created_at": BASE},
        ],
    )
    return users, articles


@pytest.fixture
def reader(client):
    return register(client, "reader")


@pytest.fixture
def seeded(app, reader):
    with app.app_context():
        reader_id = db.session.scalar(select(User.id).where(User.username == "reader"))
        users, articles = _seed_articles(reader_id)
        # comments: "ann-0" gets 1, "ann-1" gets 50, by authors the reader does and doesn't follow
        authors = [users["ann"], users["ben"], users["fay"], users["gus"], reader_id]
        db.session.execute(
            insert(Comment),
            [
                {
                    "article_id": articles[0 if n == 0 else 1].id,
                    "author_id": authors[n % len(authors)],
                    "body": f"comment {n}",
                    "created_at": BASE + timedelta(seconds=n),
                    "updated_at": BASE + timedelta(seconds=n),
                }
                for n in range(51)
            ],
        )
        db.session.commit()


def measure(app, client, url, token=None):
    headers = auth_header(token) if token else {}
    with count_statements(app) as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.data
    return response.get_json(), statements


# --- the helper itself ---------------------------------------------------------------------------


def test_counter_sees_every_statement_of_the_block(app):
    with count_statements(app) as statements, app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.execute(text("SELECT 2"))

    assert statements.count == 2, statements.report()


def test_counter_stops_counting_after_the_block(app, client):
    with count_statements(app) as statements:
        pass
    client.get("/api/tags")

    assert statements.count == 0


@pytest.mark.parametrize("sql", ["SAVEPOINT sa_1", "RELEASE SAVEPOINT sa_1", "BEGIN", " commit"])
def test_transaction_bookkeeping_is_noise(sql):
    assert is_noise(sql)


# --- article lists -------------------------------------------------------------------------------

# one statement: the page (authors, flags, counts and tags included) with the total; plus the
# user lookup when a token is sent
ARTICLE_LISTS = [
    ("/api/articles?limit={n}", False, 1),
    ("/api/articles?limit={n}", True, 2),
    ("/api/articles?tag=common&limit={n}", False, 1),
    ("/api/articles?tag=common&limit={n}", True, 2),
    ("/api/articles?author=ann&limit={n}", False, 1),
    ("/api/articles?author=ANN&limit={n}", True, 2),
    ("/api/articles?favorited=fay&limit={n}", False, 1),
    ("/api/articles?favorited=fay&limit={n}", True, 2),
    ("/api/articles?tag=common&author=ann&favorited=fay&limit={n}", True, 2),
    ("/api/articles/feed?limit={n}", True, 2),
]


@pytest.mark.parametrize(("url", "authenticated", "expected"), ARTICLE_LISTS)
def test_article_list_statement_count_does_not_depend_on_page_size(
    app, client, reader, seeded, url, authenticated, expected
):
    token = reader["token"] if authenticated else None
    counts = {}
    for n in PAGE_SIZES:
        body, statements = measure(app, client, url.format(n=n), token)
        assert len(body["articles"]) == n  # the page really is that big
        counts[n] = statements.count
        assert statements.count == expected, statements.report()

    assert counts[1] == counts[50] <= 2


@pytest.mark.parametrize(
    ("url", "total", "counter"),
    [
        ("/api/articles?tag=common", 85, "'tag:' || (SELECT id FROM tags WHERE name = 'common')"),
        (
            "/api/articles?author=ANN",
            55,
            "'author:' || (SELECT id FROM users WHERE username = 'ann')",
        ),
    ],
)
def test_a_tag_or_author_total_reads_its_counter_not_the_articles(
    app, client, seeded, url, total, counter
):
    with app.app_context():  # off by 1000 by hand: only a read of the counter can say so
        db.session.execute(text(f"UPDATE counters SET value = value + 1000 WHERE name = {counter}"))
        db.session.commit()

    body, statements = measure(app, client, url)

    assert body["articlesCount"] == total + 1000
    assert statements.count == 1, statements.report()  # the page carries it


def test_seeded_lists_carry_per_item_data_that_n_plus_1_loading_would_fetch(
    app, client, reader, seeded
):
    body, _ = measure(app, client, "/api/articles?limit=50", reader["token"])
    articles = body["articles"]

    assert {len(article["tagList"]) for article in articles} == {3}
    assert {article["author"]["username"] for article in articles} == set(ARTICLES_BY)
    assert {article["author"]["following"] for article in articles} == {True, False}
    assert {article["favorited"] for article in articles} == {True, False}
    assert {article["favoritesCount"] for article in articles} >= {1, 2, 3, 4}


def test_feed_statement_count_with_nothing_followed(app, client, reader, seeded):
    lonely = register(client, "lonely")

    body, statements = measure(app, client, "/api/articles/feed?limit=50", lonely["token"])

    assert body == {"articles": [], "articlesCount": 0}
    assert statements.count == 3, statements.report()  # user, page, and the total on its own


# --- comments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("authenticated", "expected"), [(False, 1), (True, 2)])
def test_comment_list_statement_count_does_not_depend_on_comment_count(
    app, client, reader, seeded, authenticated, expected
):
    token = reader["token"] if authenticated else None
    counts = {}
    for slug, size in [("ann-0", 1), ("ann-1", 50)]:
        body, statements = measure(app, client, f"/api/articles/{slug}/comments", token)
        assert len(body["comments"]) == size
        counts[size] = statements.count
        assert statements.count == expected, statements.report()  # article+comments (+ user)

    assert counts[1] == counts[50]


def test_seeded_comments_carry_per_item_authors_and_following(app, client, reader, seeded):
    body, _ = measure(app, client, "/api/articles/ann-1/comments", reader["token"])
    authors = {c["author"]["username"]: c["author"]["following"] for c in body["comments"]}

    assert authors == {"ann": True, "ben": True, "fay": False, "gus": False, "reader": False}


# --- tags ----------------------------------------------------------------------------------------


def publish(client, token, tags):
    article = {"title": "t", "description": "d", "body": "b", "tagList": tags}
    response = client.post("/api/articles", headers=auth_header(token), json={"article": article})
    assert response.status_code == 201, response.data


def test_tag_list_statement_count_does_not_depend_on_tag_count(app, client):
    token = register(client, "author")["token"]
    publish(client, token, ["tag00"])
    one, with_one = measure(app, client, "/api/tags")
    for start in (1, 21, 41):  # at most 20 tags per article; 49 more, 50 in all
        publish(client, token, [f"tag{n:02}" for n in range(start, min(start + 20, 50))])

    fifty, with_fifty = measure(app, client, "/api/tags")

    assert (len(one["tags"]), len(fifty["tags"])) == (1, 50)
    assert with_one.count == with_fifty.count == 1, with_fifty.report()
