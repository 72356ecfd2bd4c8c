"""PUT and DELETE /api/articles/:slug: only the author changes or removes an article."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Article, Comment, Favorite, article_tags
from tests.conftest import assert_error, auth_header, register

URL = "/api/articles"
BLANK = ["can't be blank"]
FORBIDDEN = {"article": ["forbidden"]}
NOT_FOUND = {"article": ["not found"]}
VALID = {
    "title": "How to Train Your Dragon",
    "description": "Ever wonder how?",
    "body": "You have to believe",
}


def create(client, token, **fields):
    response = client.post(URL, headers=auth_header(token), json={"article": {**VALID, **fields}})
    assert response.status_code == 201, response.data
    return response.get_json()["article"]


def update(client, token, slug, **changes):
    return client.put(f"{URL}/{slug}", headers=auth_header(token), json={"article": changes})


def updated(client, token, slug, **changes):
    response = update(client, token, slug, **changes)
    assert response.status_code == 200, response.data
    return response.get_json()["article"]


def fetch(client, slug):
    response = client.get(f"{URL}/{slug}")
    assert response.status_code == 200, response.data
    return response.get_json()["article"]


@pytest.fixture
def article(client, user):
    return create(client, user["token"], tagList=["dragons", "training"])


# --- PUT /api/articles/:slug: changes ------------------------------------------------------------


def test_update_title_gives_a_new_slug_and_the_old_one_is_gone(client, user, article):
    response = update(client, user["token"], article["slug"], title="Did You Train Your Dragon?")

    assert response.status_code == 200
    changed = response.get_json()["article"]
    assert changed["title"] == "Did You Train Your Dragon?"
    assert changed["slug"] == "did-you-train-your-dragon"
    assert fetch(client, changed["slug"])["title"] == "Did You Train Your Dragon?"
    assert_error(client.get(f"{URL}/{article['slug']}"), 404, NOT_FOUND)


def test_update_only_the_body_keeps_the_slug(client, user, article):
    changed = updated(client, user["token"], article["slug"], body="With patience")

    assert changed["slug"] == article["slug"]
    assert changed["body"] == "With patience"
    assert fetch(client, article["slug"])["body"] == "With patience"


def test_update_only_the_description_keeps_everything_else(client, user, article):
    changed = updated(client, user["token"], article["slug"], description="A new hook")

    assert changed["description"] == "A new hook"
    for key in ("slug", "title", "body", "tagList", "createdAt", "author"):
        assert changed[key] == article[key]


def test_update_with_the_same_title_keeps_the_slug(client, user, article):
    changed = updated(client, user["token"], article["slug"], title=article["title"])

    assert changed["slug"] == article["slug"]


def test_update_title_to_one_already_used_gives_a_distinct_slug(client, user, article):
    other = create(client, user["token"], title="Another Story")

    changed = updated(client, user["token"], other["slug"], title=article["title"])

    assert changed["slug"] != article["slug"]
    assert fetch(client, changed["slug"])["body"] == other["body"]
    assert fetch(client, article["slug"])["title"] == article["title"]


def test_update_title_whose_slug_would_be_feed_stays_reachable(client, user, article):
    changed = updated(client, user["token"], article["slug"], title="Feed")

    assert changed["slug"] != "feed"
    assert fetch(client, changed["slug"])["title"] == "Feed"


def test_update_returns_the_full_article(client, user, article):
    response = update(client, user["token"], article["slug"], body="With patience")

    assert list(response.get_json()) == ["article"]
    changed = response.get_json()["article"]
    assert changed == {**article, "body": "With patience", "updatedAt": changed["updatedAt"]}


def test_update_changes_updated_at_and_keeps_created_at(client, user, article):
    changed = updated(client, user["token"], article["slug"], body="With patience")

    assert changed["createdAt"] == article["createdAt"]
    assert changed["updatedAt"] > article["updatedAt"]
    assert fetch(client, article["slug"])["updatedAt"] == changed["updatedAt"]


def test_two_quick_updates_give_strictly_increasing_updated_at(client, user, article):
    first = updated(client, user["token"], article["slug"], body="one")
    second = updated(client, user["token"], article["slug"], body="two")

    assert article["updatedAt"] < first["updatedAt"] < second["updatedAt"]
    assert second["createdAt"] == article["createdAt"]


def test_update_with_identical_values_still_changes_updated_at(client, user, article):
    changed = updated(client, user["token"], article["slug"], body=article["body"])

    assert changed["updatedAt"] > article["updatedAt"]


def test_update_empty_tag_list_clears_the_tags(client, user, article):
    changed = updated(client, user["token"], article["slug"], tagList=[])

    assert changed["tagList"] == []
    assert fetch(client, article["slug"])["tagList"] == []
    assert client.get("/api/tags").get_json() == {"tags": []}


def test_update_without_tag_list_keeps_the_tags(client, user, article):
    changed = updated(client, user["token"], article["slug"], body="With patience")

    assert changed["tagList"] == ["dragons", "training"]


def test_update_tag_list_replaces_the_tags_sorted_and_deduplicated(client, user, article):
    changed = updated(client, user["token"], article["slug"], tagList=["zoo", "ants", "zoo"])

    assert changed["tagList"] == ["ants", "zoo"]
    assert fetch(client, article["slug"])["tagList"] == ["ants", "zoo"]


def test_update_empty_article_object_changes_nothing_but_updated_at(client, user, article):
    changed = updated(client, user["token"], article["slug"])

    assert changed == {**article, "updatedAt": changed["updatedAt"]}


# --- PUT /api/articles/:slug: refusals -----------------------------------------------------------


def test_update_null_tag_list_is_422_and_keeps_the_tags(client, user, article):
    response = update(client, user["token"], article["slug"], tagList=None)

    assert_error(response, 422, {"tagList": ["can't be null"]})
    assert fetch(client, article["slug"])["tagList"] == ["dragons", "training"]


@pytest.mark.parametrize("field", ["title", "description", "body"])
@pytest.mark.parametrize("value", ["", "   ", None], ids=repr)
def test_update_blank_or_null_field_is_422_and_changes_nothing(client, user, article, field, value):
    response = update(client, user["token"], article["slug"], **{field: value})

    assert_error(response, 422, {field: BLANK})
    assert fetch(client, article["slug"]) == article


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"title": 42}, {"title": ["must be a string"]}),
        ({"body": "nul\x00byte"}, {"body": ["must not contain NUL bytes"]}),
        ({"title": "t" * 201}, {"title": ["is too long (maximum is 200 characters)"]}),
        ({"tagList": "dragons"}, {"tagList": ["must be a list of strings"]}),
        ({"tagList": [42]}, {"tagList": ["must be a string"]}),
        ({"tagList": ["g" * 65]}, {"tagList": ["is too long (maximum is 64 characters)"]}),
        (
            {"tagList": [f"t{index}" for index in range(21)]},
            {"tagList": ["has too many tags (maximum is 20)"]},
        ),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_update_invalid_field_is_422(client, user, article, changes, errors):
    response = update(client, user["token"], article["slug"], **changes)

    assert_error(response, 422, errors)
    assert fetch(client, article["slug"]) == article


def test_update_without_article_envelope_is_422_article(client, user, article):
    response = client.put(f"{URL}/{article['slug']}", headers=auth_header(user["token"]), json={})

    assert_error(response, 422, {"article": BLANK})


def test_update_someone_elses_article_is_403_and_changes_nothing(client, article, bob):
    response = update(client, bob["token"], article["slug"], title="Stolen")

    assert_error(response, 403, FORBIDDEN)
    assert fetch(client, article["slug"]) == article


def test_update_unknown_article_is_404(client, user):
    response = update(client, user["token"], "no-such-article", body="x")

    assert_error(response, 404, NOT_FOUND)


def test_update_without_token_is_401(client, article):
    response = client.put(f"{URL}/{article['slug']}", json={"article": {"body": "x"}})

    assert_error(response, 401, {"token": ["is missing"]})
    assert fetch(client, article["slug"]) == article


# --- DELETE /api/articles/:slug ------------------------------------------------------------------


def test_delete_by_the_author_is_204_with_an_empty_body(client, user, article):
    response = client.delete(f"{URL}/{article['slug']}", headers=auth_header(user["token"]))

    assert response.status_code == 204
    assert response.data == b""


def test_delete_makes_the_article_404(client, user, article):
    client.delete(f"{URL}/{article['slug']}", headers=auth_header(user["token"]))

    assert_error(client.get(f"{URL}/{article['slug']}"), 404, NOT_FOUND)
    assert client.get(URL).get_json() == {"articles": [], "articlesCount": 0}


def favorite(client, token, slug):
    response = client.post(f"{URL}/{slug}/favorite", headers=auth_header(token))
    assert response.status_code == 200, response.data


def comment(client, token, slug):
    response = client.post(
        f"{URL}/{slug}/comments", headers=auth_header(token), json={"comment": {"body": "Nice"}}
    )
    assert response.status_code == 201, response.data


def count_rows(app, model_or_table):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model_or_table))


def test_delete_removes_comments_favorites_and_tag_links(app, client, user, article, bob):
    kept = create(client, bob["token"], title="Kept", tagList=["dragons"])
    for token in (user["token"], bob["token"]):
        favorite(client, token, article["slug"])
        comment(client, token, article["slug"])
    favorite(client, user["token"], kept["slug"])
    comment(client, user["token"], kept["slug"])
    assert [count_rows(app, table) for table in (Comment, Favorite, article_tags)] == [3, 3, 3]

    response = client.delete(f"{URL}/{article['slug']}", headers=auth_header(user["token"]))

    assert response.status_code == 204
    assert [count_rows(app, table) for table in (Comment, Favorite, article_tags)] == [1, 1, 1]
    with app.app_context():
        assert db.session.scalars(select(Comment.article_id)).all() == [
            db.session.scalar(select(Article.id).where(Article.slug == kept["slug"]))
        ]
        assert db.session.scalar(select(func.count()).select_from(Article)) == 1
    assert fetch(client, kept["slug"])["favoritesCount"] == 1
    assert client.get("/api/tags").get_json() == {"tags": ["dragons"]}


def test_delete_keeps_tags_still_used_by_other_articles(client, user, article, bob):
    kept = create(client, bob["token"], title="Kept", tagList=["dragons"])

    client.delete(f"{URL}/{article['slug']}", headers=auth_header(user["token"]))

    assert fetch(client, kept["slug"])["tagList"] == ["dragons"]
    response = client.get(URL, query_string={"tag": "dragons"})
    assert [item["slug"] for item in response.get_json()["articles"]] == [kept["slug"]]


def test_delete_someone_elses_article_is_403_and_keeps_it(client, article, bob):
    response = client.delete(f"{URL}/{article['slug']}", headers=auth_header(bob["token"]))

    assert_error(response, 403, FORBIDDEN)
    assert fetch(client, article["slug"]) == article


def test_delete_unknown_article_is_404(client, user):
    response = client.delete(f"{URL}/no-such-article", headers=auth_header(user["token"]))

    assert_error(response, 404, NOT_FOUND)


def test_delete_twice_is_404_the_second_time(client, user, article):
    client.delete(f"{URL}/{article['slug']}", headers=auth_header(user["token"]))

    response = client.delete(f"{URL}/{article['slug']}", headers=auth_header(user["token"]))

    assert_error(response, 404, NOT_FOUND)


def test_delete_without_token_is_401_and_keeps_the_article(client, article):
    response = client.delete(f"{URL}/{article['slug']}")

    assert_error(response, 401, {"token": ["is missing"]})
    assert fetch(client, article["slug"]) == article


def test_a_new_title_with_the_same_slug_keeps_the_slug(client):
    token = register(client)["token"]
    created = client.post(
        "/api/articles",
        json={"article": {"title": "Dragon", "description": "d", "body": "b"}},
        headers=auth_header(token),
    ).get_json()["article"]
    response = client.put(
        f"/api/articles/{created['slug']}",
        json={"article": {"title": "Dragon!"}},
        headers=auth_header(token),
    )
    assert response.status_code == 200
    assert response.get_json()["article"]["slug"] == created["slug"] == "dragon"
    assert response.get_json()["article"]["title"] == "Dragon!"
