"""GET/POST /api/articles/:slug/comments and DELETE /api/articles/:slug/comments/:id."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment
from tests.conftest import auth_header, register

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
MISSING = {"errors": {"token": ["is missing"]}}
INVALID = {"errors": {"token": ["is invalid"]}}
NO_ARTICLE = {"errors": {"article": ["not found"]}}
NO_COMMENT = {"errors": {"comment": ["not found"]}}
FORBIDDEN = {"errors": {"comment": ["forbidden"]}}
BLANK = ["can't be blank"]


def assert_error(response, status, body):
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    assert response.get_json() == body


def comments_url(slug):
    return f"/api/articles/{slug}/comments"


def create_article(client, token, title="Tea"):
    article = {"title": title, "description": "On tea", "body": "Brew it."}
    response = client.post("/api/articles", headers=auth_header(token), json={"article": article})
    assert response.status_code == 201, response.data
    return response.get_json()["article"]["slug"]


def post_comment(client, token, slug, body="Nice!"):
    return client.post(
        comments_url(slug), headers=auth_header(token), json={"comment": {"body": body}}
    )


def add_comment(client, token, slug, body="Nice!"):
    response = post_comment(client, token, slug, body)
    assert response.status_code == 201, response.data
    return response.get_json()["comment"]


def list_comments(client, slug, token=None):
    headers = auth_header(token) if token else {}
    response = client.get(comments_url(slug), headers=headers)
    assert response.status_code == 200, response.data
    return response.get_json()["comments"]


def author(username, following=False):
    return {"username": username, "bio": None, "image": None, "following": following}


def comment_count(app, **filters):
    with app.app_context():
        statement = select(func.count()).select_from(Comment).filter_by(**filters)
        return db.session.scalar(statement)


@pytest.fixture
def slug(client, alice):
    return create_article(client, alice["token"])


# --- POST ----------------------------------------------------------------------------------------


def test_post_comment_is_201_with_the_comment(client, bob, slug):
    response = post_comment(client, bob["token"], slug, "Great article!")

    assert response.status_code == 201
    comment = response.get_json()["comment"]
    assert list(comment) == ["id", "createdAt", "updatedAt", "body", "author"]
    assert type(comment["id"]) is int
    assert comment == {
        "id": comment["id"],
        "createdAt": comment["createdAt"],
        "updatedAt": comment["createdAt"],
        "body": "Great article!",
        "author": author("bob"),
    }


def test_post_comment_timestamps_are_utc_with_milliseconds(client, bob, slug):
    comment = add_comment(client, bob["token"], slug)

    assert TIMESTAMP.fullmatch(comment["createdAt"]), comment["createdAt"]
    assert TIMESTAMP.fullmatch(comment["updatedAt"]), comment["updatedAt"]


def test_post_comment_shows_the_authors_bio_and_image(client, bob, slug):
    changes = {"bio": "Tea fan", "image": "https://example.com/bob.png"}
    client.put("/api/user", headers=auth_header(bob["token"]), json={"user": changes})

    comment = add_comment(client, bob["token"], slug)

    assert comment["author"] == dict(author("bob"), **changes)


def test_post_comment_keeps_the_body_exactly(client, bob, slug):
    body = "  Line one\n\n**bold** — naïve 日本語 🍵  "

    comment = add_comment(client, bob["token"], slug, body)

    assert comment["body"] == body
    assert list_comments(client, slug)[0]["body"] == body


def test_post_comment_of_the_maximum_length_is_201(client, bob, slug):
    response = post_comment(client, bob["token"], slug, "c" * 10_000)

    assert response.status_code == 201


@pytest.mark.parametrize(
    "comment",
    [{"body": ""}, {"body": "   "}, {"body": "\n\t"}, {"body": None}, {}],
    ids=["empty", "spaces", "whitespace", "null", "missing"],
)
def test_post_blank_missing_or_null_body_is_422(app, client, bob, slug, comment):
    response = client.post(
        comments_url(slug), headers=auth_header(bob["token"]), json={"comment": comment}
    )

    assert_error(response, 422, {"errors": {"body": BLANK}})
    assert comment_count(app) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {}},
        {"json": {"comment": None}},
        {"json": {"body": "Nice!"}},
        {"data": b"", "content_type": "application/json"},
    ],
    ids=["empty-object", "null-comment", "body-outside-envelope", "empty-request-body"],
)
def test_post_without_comment_envelope_is_422(client, bob, slug, kwargs):
    response = client.post(comments_url(slug), headers=auth_header(bob["token"]), **kwargs)

    assert_error(response, 422, {"errors": {"comment": BLANK}})


def test_post_over_long_body_is_422(app, client, bob, slug):
    response = post_comment(client, bob["token"], slug, "c" * 10_001)

    assert_error(response, 422, {"errors": {"body": ["is too long (maximum is 10000 characters)"]}})
    assert comment_count(app) == 0


@pytest.mark.parametrize("body", [42, 1.5, True, ["Nice!"], {"text": "Nice!"}], ids=repr)
def test_post_non_string_body_is_422(client, bob, slug, body):
    response = post_comment(client, bob["token"], slug, body)

    assert_error(response, 422, {"errors": {"body": ["must be a string"]}})


def test_post_body_with_nul_byte_is_422(client, bob, slug):
    response = post_comment(client, bob["token"], slug, "nul\x00byte")

    assert_error(response, 422, {"errors": {"body": ["must not contain NUL bytes"]}})


@pytest.mark.parametrize("payload", [["Nice!"], "Nice!", {"comment": "Nice!"}], ids=repr)
def test_post_wrong_json_type_is_422_body(client, bob, slug, payload):
    response = client.post(comments_url(slug), headers=auth_header(bob["token"]), json=payload)

    assert_error(response, 422, {"errors": {"body": ["must be a JSON object"]}})


def test_post_malformed_json_is_400(client, bob, slug):
    response = client.post(
        comments_url(slug),
        headers=auth_header(bob["token"]),
        data=b'{"comment": {',
        content_type="application/json",
    )

    assert_error(response, 400, {"errors": {"body": ["malformed JSON"]}})


# --- GET -----------------------------------------------------------------------------------------


def test_get_comments_of_an_article_without_comments_is_empty(client, slug):
    response = client.get(comments_url(slug))

    assert response.status_code == 200
    assert response.get_json() == {"comments": []}


def test_get_comments_newest_first(client, alice, bob, slug):
    first = add_comment(client, bob["token"], slug, "first")
    second = add_comment(client, alice["token"], slug, "second")
    third = add_comment(client, bob["token"], slug, "third")

    assert list_comments(client, slug) == [third, second, first]


def test_get_comments_anonymously_shows_following_false(client, alice, bob, slug):
    client.post("/api/profiles/bob/follow", headers=auth_header(alice["token"]))
    add_comment(client, bob["token"], slug)

    [comment] = list_comments(client, slug)

    assert comment["author"] == author("bob")


def test_get_comments_authenticated_shows_following_relative_to_the_caller(
    client, alice, bob, slug
):
    carol = register(client, "carol")
    add_comment(client, bob["token"], slug, "by bob")
    add_comment(client, carol["token"], slug, "by carol")
    client.post("/api/profiles/bob/follow", headers=auth_header(alice["token"]))

    as_alice = list_comments(client, slug, alice["token"])
    as_carol = list_comments(client, slug, carol["token"])

    assert [(c["body"], c["author"]) for c in as_alice] == [
        ("by carol", author("carol")),
        ("by bob", author("bob", following=True)),
    ]
    assert [c["author"]["following"] for c in as_carol] == [False, False]


def test_get_comments_only_lists_the_articles_own_comments(client, alice, bob, slug):
    other = create_article(client, alice["token"], "Coffee")
    add_comment(client, bob["token"], slug, "on tea")
    add_comment(client, bob["token"], other, "on coffee")

    assert [c["body"] for c in list_comments(client, slug)] == ["on tea"]
    assert [c["body"] for c in list_comments(client, other)] == ["on coffee"]


@pytest.mark.parametrize("bad_slug", ["no-such-article", "tea%00", "%00", "x" * 2000])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_comments_on_an_unknown_or_impossible_slug_are_404_article(
    app, client, bob, slug, method, bad_slug
):
    url = comments_url(bad_slug) + ("/1" if method == "delete" else "")
    kwargs = {"json": {"comment": {"body": "Nice!"}}} if method == "post" else {}

    response = getattr(client, method)(url, headers=auth_header(bob["token"]), **kwargs)

    assert_error(response, 404, NO_ARTICLE)
    assert comment_count(app) == 0


# --- DELETE --------------------------------------------------------------------------------------


def delete_comment(client, token, slug, comment_id):
    return client.delete(f"{comments_url(slug)}/{comment_id}", headers=auth_header(token))


def test_delete_own_comment_is_204_with_empty_body(client, bob, slug):
    comment = add_comment(client, bob["token"], slug)

    response = delete_comment(client, bob["token"], slug, comment["id"])

    assert response.status_code == 204
    assert response.data == b""


def test_deleted_comment_disappears_and_others_stay(app, client, bob, slug):
    kept = add_comment(client, bob["token"], slug, "kept")
    gone = add_comment(client, bob["token"], slug, "gone")

    delete_comment(client, bob["token"], slug, gone["id"])

    assert list_comments(client, slug) == [kept]
    assert comment_count(app) == 1


def test_delete_the_same_comment_twice_is_404_the_second_time(client, bob, slug):
    comment = add_comment(client, bob["token"], slug)
    delete_comment(client, bob["token"], slug, comment["id"])

    response = delete_comment(client, bob["token"], slug, comment["id"])

    assert_error(response, 404, NO_COMMENT)


def test_delete_someone_elses_comment_is_403(app, client, alice, bob, slug):
    comment = add_comment(client, bob["token"], slug)
    carol = register(client, "carol")

    response = delete_comment(client, carol["token"], slug, comment["id"])

    assert_error(response, 403, FORBIDDEN)
    assert comment_count(app) == 1


def test_article_author_cannot_delete_anothers_comment(app, client, alice, bob, slug):
    comment = add_comment(client, bob["token"], slug)

    response = delete_comment(client, alice["token"], slug, comment["id"])

    assert_error(response, 403, FORBIDDEN)
    assert list_comments(client, slug) == [comment]


@pytest.mark.parametrize(
    "comment_id",
    ["999999", "abc", "-1", "0", "1.5", "1e3", str(10**30), str(2**31), str(2**63), "١٢", "²"],
)
def test_delete_unknown_or_impossible_comment_id_is_404(client, bob, slug, comment_id):
    add_comment(client, bob["token"], slug)

    response = delete_comment(client, bob["token"], slug, comment_id)

    assert_error(response, 404, NO_COMMENT)


def test_delete_comment_through_another_articles_slug_is_404(app, client, alice, bob, slug):
    other = create_article(client, alice["token"], "Coffee")
    comment = add_comment(client, bob["token"], slug)

    response = delete_comment(client, bob["token"], other, comment["id"])

    assert_error(response, 404, NO_COMMENT)
    assert list_comments(client, slug) == [comment]


def test_delete_comment_on_unknown_article_is_404_article(client, bob, slug):
    comment = add_comment(client, bob["token"], slug)

    response = delete_comment(client, bob["token"], "no-such-article", comment["id"])

    assert_error(response, 404, NO_ARTICLE)


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "error"), [({}, MISSING), (auth_header("a.b.c"), INVALID)])
@pytest.mark.parametrize("method", ["post", "delete"])
def test_post_or_delete_without_a_valid_token_is_401(
    app, client, bob, slug, method, headers, error
):
    comment = add_comment(client, bob["token"], slug)
    kwargs = {"json": {"comment": {"body": "Nice!"}}} if method == "post" else {}

    response = getattr(client, method)(
        f"{comments_url(slug)}/{comment['id']}" if method == "delete" else comments_url(slug),
        headers=headers,
        **kwargs,
    )

    assert_error(response, 401, error)
    assert comment_count(app) == 1


def test_get_comments_with_a_bad_token_is_401(client, slug):
    response = client.get(comments_url(slug), headers=auth_header("not-a-jwt"))

    assert_error(response, 401, INVALID)


# --- deleting the article ------------------------------------------------------------------------


def test_deleting_the_article_removes_its_comments(app, client, alice, bob, slug):
    other = create_article(client, alice["token"], "Coffee")
    add_comment(client, bob["token"], slug, "on tea 1")
    add_comment(client, alice["token"], slug, "on tea 2")
    add_comment(client, bob["token"], other, "on coffee")
    with app.app_context():
        article_id = db.session.scalar(select(Comment.article_id).where(Comment.body == "on tea 1"))

    response = client.delete(f"/api/articles/{slug}", headers=auth_header(alice["token"]))

    assert response.status_code == 204
    assert comment_count(app, article_id=article_id) == 0
    assert comment_count(app) == 1
    assert_error(client.get(comments_url(slug)), 404, NO_ARTICLE)
    assert [c["body"] for c in list_comments(client, other)] == ["on coffee"]
