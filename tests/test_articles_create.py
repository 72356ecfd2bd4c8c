"""POST /api/articles and GET /api/articles/:slug: publishing an article and reading it back."""

import re

import pytest

from tests.conftest import assert_error, auth_header, register

URL = "/api/articles"
BLANK = ["can't be blank"]
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
ARTICLE_KEYS = {
    "slug",
    "title",
    "description",
    "body",
    "tagList",
    "createdAt",
    "updatedAt",
    "favorited",
    "favoritesCount",
    "author",
}
VALID = {
    "title": "How to Train Your Dragon",
    "description": "Ever wonder how?",
    "body": "You have to believe",
}


def post(client, token, article):
    return client.post(URL, headers=auth_header(token), json={"article": article})


def create(client, token, **fields):
    response = post(client, token, {**VALID, **fields})
    assert response.status_code == 201, response.data
    return response.get_json()["article"]


def fetch(client, slug, token=None):
    headers = auth_header(token) if token else {}
    return client.get(f"{URL}/{slug}", headers=headers)


# --- POST /api/articles: success -----------------------------------------------------------------


def test_create_returns_201_with_the_full_article(client, user):
    response = post(client, user["token"], {**VALID, "tagList": ["dragons", "training"]})

    assert response.status_code == 201
    article = response.get_json()["article"]
    assert set(article) == ARTICLE_KEYS
    created_at = article.pop("createdAt")
    updated_at = article.pop("updatedAt")
    assert created_at == updated_at
    assert article == {
        "slug": "how-to-train-your-dragon",
        "title": "How to Train Your Dragon",
        "description": "Ever wonder how?",
        "body": "You have to believe",
        "tagList": ["dragons", "training"],
        "favorited": False,
        "favoritesCount": 0,
        "author": {"username": "alice", "bio": None, "image": None, "following": False},
    }


def test_create_response_is_wrapped_in_article_and_nothing_else(client, user):
    response = post(client, user["token"], VALID)

    assert list(response.get_json()) == ["article"]


def test_create_timestamps_are_utc_with_milliseconds(client, user):
    article = create(client, user["token"])

    assert TIMESTAMP.fullmatch(article["createdAt"])
    assert TIMESTAMP.fullmatch(article["updatedAt"])


def test_create_author_is_the_caller_with_its_profile(client, user):
    client.put(
        "/api/user",
        headers=auth_header(user["token"]),
        json={"user": {"bio": "I ride dragons", "image": "https://example.com/a.png"}},
    )

    article = create(client, user["token"])

    assert article["author"] == {
        "username": "alice",
        "bio": "I ride dragons",
        "image": "https://example.com/a.png",
        "following": False,
    }


def test_create_slug_is_derived_from_the_title(client, user):
    article = create(client, user["token"], title="How to Train Your Dragon!")

    assert article["slug"] == "how-to-train-your-dragon"


def test_create_identical_titles_get_different_slugs_and_both_are_retrievable(client, user):
    first = create(client, user["token"], body="first")
    second = create(client, user["token"], body="second")

    assert first["slug"] != second["slug"]
    assert fetch(client, first["slug"]).get_json()["article"]["body"] == "first"
    assert fetch(client, second["slug"]).get_json()["article"]["body"] == "second"


def test_create_identical_titles_by_different_authors_get_different_slugs(client, user):
    bob = register(client, "bob")

    first = create(client, user["token"])
    second = create(client, bob["token"])

    assert first["slug"] != second["slug"]
    assert fetch(client, second["slug"]).get_json()["article"]["author"]["username"] == "bob"


@pytest.mark.parametrize(
    "title", ["Crème brûlée à la française", "日本語のタイトル", "Привет мир", "🐉🐉🐉", "¿¡!?"]
)
def test_create_non_ascii_title_gives_a_usable_slug(client, user, title):
    article = create(client, user["token"], title=title)

    assert SLUG.fullmatch(article["slug"]), article["slug"]
    response = fetch(client, article["slug"])
    assert response.status_code == 200
    assert response.get_json()["article"]["title"] == title


def test_create_accented_title_keeps_its_letters_in_the_slug(client, user):
    article = create(client, user["token"], title="Crème Brûlée")

    assert article["slug"] == "creme-brulee"


@pytest.mark.parametrize("title", ["Feed", "feed!", "  FEED  "])
def test_create_title_whose_slug_would_be_feed_is_still_reachable(client, user, title):
    article = create(client, user["token"], title=title)

    assert article["slug"] != "feed"
    response = fetch(client, article["slug"])
    assert response.status_code == 200
    assert response.get_json()["article"]["title"] == title


def test_create_tag_list_is_sorted_alphabetically(client, user):
    article = create(client, user["token"], tagList=["zebra", "apple", "mango"])

    assert article["tagList"] == ["apple", "mango", "zebra"]
    assert fetch(client, article["slug"]).get_json()["article"]["tagList"] == [
        "apple",
        "mango",
        "zebra",
    ]


def test_create_tag_list_duplicates_are_removed(client, user):
    article = create(client, user["token"], tagList=["dragons", "dragons", "training", "dragons"])

    assert article["tagList"] == ["dragons", "training"]


def test_create_without_tag_list_gives_an_empty_list(client, user):
    article = create(client, user["token"])

    assert article["tagList"] == []


def test_create_with_empty_tag_list_gives_an_empty_list(client, user):
    article = create(client, user["token"], tagList=[])

    assert article["tagList"] == []


def test_create_ignores_unknown_fields(client, user):
    article = create(client, user["token"], slug="chosen-by-client", favoritesCount=99)

    assert article["slug"] == "how-to-train-your-dragon"
    assert article["favoritesCount"] == 0


def test_create_accepts_the_longest_title_and_tag(client, user):
    article = create(client, user["token"], title="t" * 200, tagList=["g" * 64])

    assert article["title"] == "t" * 200
    assert article["tagList"] == ["g" * 64]
    assert fetch(client, article["slug"]).status_code == 200


def test_create_accepts_twenty_tags(client, user):
    tags = [f"tag{index:02d}" for index in range(20)]

    article = create(client, user["token"], tagList=tags)

    assert article["tagList"] == tags


# --- POST /api/articles: refusals ----------------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "description", "body"])
@pytest.mark.parametrize("value", ["", "   ", None, "missing"], ids=repr)
def test_create_missing_blank_or_null_field_is_422(client, user, field, value):
    article = dict(VALID)
    if value == "missing":
        del article[field]
    else:
        article[field] = value

    response = post(client, user["token"], article)

    assert_error(response, 422, {field: BLANK})


def test_create_reports_every_missing_field(client, user):
    response = post(client, user["token"], {})

    assert_error(response, 422, {"title": BLANK, "description": BLANK, "body": BLANK})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {}},
        {"json": {"article": None}},
        {"json": {"title": "t", "description": "d", "body": "b"}},
        {"data": b"", "content_type": "application/json"},
    ],
    ids=["empty-object", "null-article", "not-wrapped", "empty-body"],
)
def test_create_without_article_envelope_is_422_article(client, user, kwargs):
    response = client.post(URL, headers=auth_header(user["token"]), **kwargs)

    assert_error(response, 422, {"article": BLANK})


@pytest.mark.parametrize("field", ["title", "description", "body"])
@pytest.mark.parametrize("value", [42, 1.5, True, ["a"], {"a": 1}], ids=repr)
def test_create_non_string_field_is_422(client, user, field, value):
    response = post(client, user["token"], {**VALID, field: value})

    assert_error(response, 422, {field: ["must be a string"]})


@pytest.mark.parametrize("field", ["title", "description", "body"])
def test_create_field_with_nul_byte_is_422(client, user, field):
    response = post(client, user["token"], {**VALID, field: "nul\x00byte"})

    assert_error(response, 422, {field: ["must not contain NUL bytes"]})


@pytest.mark.parametrize(
    ("field", "maximum"), [("title", 200), ("description", 1000), ("body", 100_000)]
)
def test_create_too_long_field_is_422(client, user, field, maximum):
    response = post(client, user["token"], {**VALID, field: "x" * (maximum + 1)})

    assert_error(response, 422, {field: [f"is too long (maximum is {maximum} characters)"]})


def test_create_null_tag_list_is_422(client, user):
    response = post(client, user["token"], {**VALID, "tagList": None})

    assert_error(response, 422, {"tagList": ["can't be null"]})


@pytest.mark.parametrize("value", ["dragons", 42, {"tag": "dragons"}, True], ids=repr)
def test_create_tag_list_that_is_not_a_list_is_422(client, user, value):
    response = post(client, user["token"], {**VALID, "tagList": value})

    assert_error(response, 422, {"tagList": ["must be a list of strings"]})


@pytest.mark.parametrize("tag", [42, 1.5, True, ["nested"], {"a": 1}], ids=repr)
def test_create_non_string_tag_is_422(client, user, tag):
    response = post(client, user["token"], {**VALID, "tagList": ["dragons", tag]})

    assert_error(response, 422, {"tagList": ["must be a string"]})


def test_create_null_tag_is_422_blank(client, user):
    response = post(client, user["token"], {**VALID, "tagList": ["dragons", None]})

    assert_error(response, 422, {"tagList": BLANK})


@pytest.mark.parametrize("tag", ["", "   "], ids=repr)
def test_create_blank_tag_is_422(client, user, tag):
    response = post(client, user["token"], {**VALID, "tagList": ["dragons", tag]})

    assert_error(response, 422, {"tagList": BLANK})


def test_create_tag_with_nul_byte_is_422(client, user):
    response = post(client, user["token"], {**VALID, "tagList": ["nul\x00byte"]})

    assert_error(response, 422, {"tagList": ["must not contain NUL bytes"]})


def test_create_too_long_tag_is_422(client, user):
    response = post(client, user["token"], {**VALID, "tagList": ["g" * 65]})

    assert_error(response, 422, {"tagList": ["is too long (maximum is 64 characters)"]})


def test_create_more_than_twenty_tags_is_422(client, user):
    tags = [f"tag{index:02d}" for index in range(21)]

    response = post(client, user["token"], {**VALID, "tagList": tags})

    assert_error(response, 422, {"tagList": ["has too many tags (maximum is 20)"]})


def test_create_refused_article_is_not_stored(client, user):
    post(client, user["token"], {**VALID, "tagList": ["g" * 65]})

    response = client.get(URL)
    assert response.get_json() == {"articles": [], "articlesCount": 0}
    assert client.get("/api/tags").get_json() == {"tags": []}


@pytest.mark.parametrize(
    "body", [["article"], "article", {"article": "x"}, {"article": [1]}], ids=repr
)
def test_create_wrong_json_type_is_422_body(client, user, body):
    response = client.post(URL, headers=auth_header(user["token"]), json=body)

    assert_error(response, 422, {"body": ["must be a JSON object"]})


def test_create_malformed_json_is_400_body(client, user):
    response = client.post(
        URL,
        headers=auth_header(user["token"]),
        data=b'{"article": {',
        content_type="application/json",
    )

    assert_error(response, 400, {"body": ["malformed JSON"]})


def test_create_without_token_is_401(client):
    response = client.post(URL, json={"article": VALID})

    assert_error(response, 401, {"token": ["is missing"]})


# --- GET /api/articles/:slug ---------------------------------------------------------------------


def test_get_anonymous_sees_the_full_article_with_favorited_false(client, user):
    created = create(client, user["token"], tagList=["dragons"])

    response = fetch(client, created["slug"])

    assert response.status_code == 200
    assert response.get_json() == {"article": created}


def test_get_authenticated_author_sees_the_same_article(client, user):
    created = create(client, user["token"], tagList=["dragons"])

    response = fetch(client, created["slug"], user["token"])

    assert response.status_code == 200
    assert response.get_json() == {"article": created}


def test_get_authenticated_follower_sees_following_true(client, user):
    created = create(client, user["token"])
    bob = register(client, "bob")
    client.post("/api/profiles/alice/follow", headers=auth_header(bob["token"]))

    article = fetch(client, created["slug"], bob["token"]).get_json()["article"]

    assert article["author"] == {
        "username": "alice",
        "bio": None,
        "image": None,
        "following": True,
    }
    assert fetch(client, created["slug"]).get_json()["article"]["author"]["following"] is False


def test_get_unknown_slug_is_404_article(client):
    response = fetch(client, "no-such-article")

    assert_error(response, 404, {"article": ["not found"]})
