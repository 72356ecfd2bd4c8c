"""GET /api/articles/feed: the caller's feed, articles by the authors the caller follows."""

import pytest

from tests.article_seed import seed, slugs
from tests.conftest import auth_header, register

URL = "/api/articles/feed"
EMPTY = {"articles": [], "articlesCount": 0}


def create(client, token, title):
    article = {"title": title, "description": "d", "body": "b", "tagList": ["t2", "t1"]}
    response = client.post("/api/articles", headers=auth_header(token), json={"article": article})
    assert response.status_code == 201, response.data
    return response.get_json()["article"]["slug"]


def feed(client, token, **params):
    response = client.get(URL, headers=auth_header(token), query_string=params)
    assert response.status_code == 200, response.data
    return response.get_json()


def follow(client, token, username, method="POST"):
    response = client.open(
        f"/api/profiles/{username}/follow", method=method, headers=auth_header(token)
    )
    assert response.status_code == 200, response.data


@pytest.fixture
def reader(client):
    return register(client, "reader")


@pytest.fixture
def writers(client):
    return {name: register(client, name) for name in ("ann", "ben", "cy")}


# --- authentication ------------------------------------------------------------------------------


def test_feed_without_a_token_is_401_missing(client):
    response = client.get(URL)

    assert response.status_code == 401
    assert response.get_json() == {"errors": {"token": ["is missing"]}}


def test_feed_with_a_bad_token_is_401_invalid(client):
    response = client.get(URL, headers=auth_header("not.a.token"))

    assert response.status_code == 401
    assert response.get_json() == {"errors": {"token": ["is invalid"]}}


# --- content -------------------------------------------------------------------------------------


def test_feed_of_a_user_who_follows_nobody_is_empty(client, reader, writers):
    create(client, writers["ann"]["token"], "unseen")

    assert feed(client, reader["token"]) == EMPTY


def test_feed_of_a_followed_author_without_articles_is_empty(client, reader, writers):
    follow(client, reader["token"], "ann")

    assert feed(client, reader["token"]) == EMPTY


def test_feed_has_only_articles_by_followed_authors(client, reader, writers):
    by_ann = create(client, writers["ann"]["token"], "ann writes")
    create(client, writers["ben"]["token"], "ben writes")
    by_cy = create(client, writers["cy"]["token"], "cy writes")
    follow(client, reader["token"], "ann")
    follow(client, reader["token"], "cy")

    body = feed(client, reader["token"])

    assert slugs(body) == [by_cy, by_ann]
    assert body["articlesCount"] == 2


def test_feed_includes_articles_written_before_the_follow(client, reader, writers):
    earlier = create(client, writers["ann"]["token"], "before the follow")
    follow(client, reader["token"], "ann")
    later = create(client, writers["ann"]["token"], "after the follow")

    assert slugs(feed(client, reader["token"])) == [later, earlier]


def test_feed_is_newest_first_across_authors(client, reader, writers):
    follow(client, reader["token"], "ann")
    follow(client, reader["token"], "ben")
    created = [
        create(client, writers[name]["token"], f"{name} {n}")
        for n, name in enumerate(["ann", "ben", "ann", "ben", "ben", "ann"])
    ]

    assert slugs(feed(client, reader["token"])) == created[::-1]


def test_feed_items_have_author_following_true(client, reader, writers):
    create(client, writers["ann"]["token"], "one")
    create(client, writers["ben"]["token"], "two")
    follow(client, reader["token"], "ann")
    follow(client, reader["token"], "ben")

    articles = feed(client, reader["token"])["articles"]

    assert [article["author"]["following"] for article in articles] == [True, True]


def test_feed_items_are_the_articles_without_body(client, reader, writers):
    slug = create(client, writers["ann"]["token"], "full shape")
    follow(client, reader["token"], "ann")
    single = client.get(f"/api/articles/{slug}", headers=auth_header(reader["token"]))

    item = feed(client, reader["token"])["articles"][0]

    assert "body" not in item
    assert item["tagList"] == ["t1", "t2"]
    assert item == {k: v for k, v in single.get_json()["article"].items() if k != "body"}


def test_feed_favorited_is_relative_to_the_caller(client, reader, writers):
    liked = create(client, writers["ann"]["token"], "liked")
    create(client, writers["ann"]["token"], "not liked")
    follow(client, reader["token"], "ann")
    client.post(f"/api/articles/{liked}/favorite", headers=auth_header(reader["token"]))

    articles = feed(client, reader["token"])["articles"]

    assert {a["slug"]: a["favorited"] for a in articles} == {liked: True, "not-liked": False}


def test_own_articles_are_not_in_the_feed(client, reader, writers):
    create(client, reader["token"], "my own")
    by_ann = create(client, writers["ann"]["token"], "ann's")
    follow(client, reader["token"], "ann")

    assert slugs(feed(client, reader["token"])) == [by_ann]


def test_a_user_cannot_follow_himself_into_his_own_feed(client, reader):
    create(client, reader["token"], "my own")

    response = client.post("/api/profiles/reader/follow", headers=auth_header(reader["token"]))

    assert response.status_code == 422
    assert feed(client, reader["token"]) == EMPTY


def test_articles_leave_the_feed_after_unfollow(client, reader, writers):
    create(client, writers["ann"]["token"], "ann writes")
    by_ben = create(client, writers["ben"]["token"], "ben writes")
    follow(client, reader["token"], "ann")
    follow(client, reader["token"], "ben")

    follow(client, reader["token"], "ann", method="DELETE")

    body = feed(client, reader["token"])
    assert slugs(body) == [by_ben]
    assert body["articlesCount"] == 1


def test_feed_is_per_caller(client, reader, writers):
    by_ann = create(client, writers["ann"]["token"], "ann writes")
    by_ben = create(client, writers["ben"]["token"], "ben writes")
    follow(client, reader["token"], "ann")
    follow(client, writers["cy"]["token"], "ben")

    assert slugs(feed(client, reader["token"])) == [by_ann]
    assert slugs(feed(client, writers["cy"]["token"])) == [by_ben]


def test_a_deleted_article_leaves_the_feed(client, reader, writers):
    gone = create(client, writers["ann"]["token"], "gone soon")
    follow(client, reader["token"], "ann")

    client.delete(f"/api/articles/{gone}", headers=auth_header(writers["ann"]["token"]))

    assert feed(client, reader["token"]) == EMPTY


# --- counting and paging -------------------------------------------------------------------------


def test_feed_count_is_the_feed_total_not_the_page_size(app, client, reader, writers):
    seed(app, "ann", 5)
    seed(app, "ben", 4)
    follow(client, reader["token"], "ann")

    body = feed(client, reader["token"], limit=2)

    assert len(body["articles"]) == 2
    assert body["articlesCount"] == 5


def test_feed_limit_defaults_to_20(app, client, reader, writers):
    newest_first = seed(app, "ann", 25)
    follow(client, reader["token"], "ann")

    body = feed(client, reader["token"])

    assert slugs(body) == newest_first[:20]
    assert body["articlesCount"] == 25


def test_feed_limit_1_and_offset_walk_every_article_once(app, client, reader, writers):
    expected = seed(app, "ann", 3) + seed(app, "ben", 3)  # ann-n and ben-n share a timestamp
    follow(client, reader["token"], "ann")
    follow(client, reader["token"], "ben")
    whole = slugs(feed(client, reader["token"]))

    walked = [slugs(feed(client, reader["token"], limit=1, offset=n)) for n in range(6)]

    assert [page for [page] in walked] == whole
    assert sorted(whole) == sorted(expected)
    assert feed(client, reader["token"], offset=6) == {"articles": [], "articlesCount": 6}


def test_feed_limit_above_100_is_capped(app, client, reader, writers):
    newest_first = seed(app, "ann", 105)
    follow(client, reader["token"], "ann")

    body = feed(client, reader["token"], limit=500)

    assert slugs(body) == newest_first[:100]
    assert body["articlesCount"] == 105


def test_feed_limit_0_gives_an_empty_page_with_the_full_count(app, client, reader, writers):
    seed(app, "ann", 3)
    follow(client, reader["token"], "ann")

    assert feed(client, reader["token"], limit=0) == {"articles": [], "articlesCount": 3}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("limit", "-1"),
        ("limit", "abc"),
        ("offset", "-5"),
        ("offset", "1.5"),
        ("offset", "99999999999999999999"),
    ],
)
def test_feed_bad_limit_or_offset_is_422(client, reader, param, value):
    response = client.get(URL, headers=auth_header(reader["token"]), query_string={param: value})

    assert response.status_code == 422, response.data
    assert list(response.get_json()["errors"]) == [param]


def test_feed_checks_the_token_before_the_query_string(client):
    response = client.get(URL, query_string={"limit": "abc"})

    assert response.status_code == 401
