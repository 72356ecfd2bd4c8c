"""Every response body is built by the read sides (``app/api/read.py``, ``app/auth/read.py``)
and sent as it is; the OpenAPI document describes it with the schemas in the routes'
``@blp.response``. These tests hold each body to its documented schema, strictly (no missing
required key, no undocumented one), so the document stays true."""

import marshmallow as ma
import pytest

from app.api.schemas import (
    ArticleListResponse,
    ArticleResponse,
    CommentListResponse,
    CommentResponse,
    ProfileResponse,
    TagListResponse,
)
from app.auth.schemas import SessionResponse, UserResponse
from tests.conftest import auth_header, register

ARTICLE = {"title": "T", "description": "d", "body": "b", "tagList": ["x"]}


@pytest.fixture
def world(client):
    ann = register(client, "ann")
    bob = register(client, "bob")
    article = client.post(
        "/api/articles", json={"article": ARTICLE}, headers=auth_header(ann["token"])
    ).get_json()["article"]
    client.post(f"/api/articles/{article['slug']}/favorite", headers=auth_header(bob["token"]))
    client.post("/api/profiles/ann/follow", headers=auth_header(bob["token"]))
    client.post(
        f"/api/articles/{article['slug']}/comments",
        json={"comment": {"body": "hi"}},
        headers=auth_header(bob["token"]),
    )
    return {"slug": article["slug"], "ann": ann, "bob": bob}


def strict_load(schema: ma.Schema, body: dict) -> None:
    """Raises on a missing required key or a key the schema does not document."""
    schema.load(body, unknown=ma.RAISE)


def assert_documented(response, status: int, schema: type[ma.Schema]) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body  # a non-empty envelope, so the check has something to check
    strict_load(schema(), body)


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/api/articles", ArticleListResponse),
        ("/api/articles/feed", ArticleListResponse),
        ("/api/articles/{slug}", ArticleResponse),
        ("/api/articles/{slug}/comments", CommentListResponse),
        ("/api/profiles/ann", ProfileResponse),
        ("/api/tags", TagListResponse),
        ("/api/user", UserResponse),
    ],
)
def test_read_responses_match_their_documented_schema(client, world, path, schema):
    token = auth_header(world["bob"]["token"])
    assert_documented(client.get(path.format(slug=world["slug"]), headers=token), 200, schema)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "schema"),
    [
        ("POST", "/api/articles", {"article": {**ARTICLE, "title": "New"}}, 201, ArticleResponse),
        ("PUT", "/api/articles/{slug}", {"article": {"body": "b2"}}, 200, ArticleResponse),
        ("POST", "/api/articles/{slug}/favorite", None, 200, ArticleResponse),
        ("DELETE", "/api/articles/{slug}/favorite", None, 200, ArticleResponse),
        ("POST", "/api/articles/{slug}/comments", {"comment": {"body": "x"}}, 201, CommentResponse),
        ("POST", "/api/profiles/bob/follow", None, 200, ProfileResponse),
        ("DELETE", "/api/profiles/bob/follow", None, 200, ProfileResponse),
        ("PUT", "/api/user", {"user": {"bio": "hello"}}, 200, UserResponse),
    ],
)
def test_write_responses_match_their_documented_schema(
    client, world, method, path, body, status, schema
):
    response = client.open(
        path.format(slug=world["slug"]),
        method=method,
        json=body,
        headers=auth_header(world["ann"]["token"]),
    )
    assert_documented(response, status, schema)


def test_session_responses_match_their_documented_schema(client, world):
    login = client.post(
        "/api/users/login",
        json={"user": {"email": "ann@example.com", "password": "correct horse battery"}},
    )
    assert_documented(login, 200, SessionResponse)
    refresh = client.post(
        "/api/auth/refresh", headers=auth_header(login.get_json()["user"]["refreshToken"])
    )
    assert_documented(refresh, 200, SessionResponse)


def test_registration_matches_its_documented_schema(client):
    user = {"username": "cat", "email": "cat@example.com", "password": "correct horse battery"}
    assert_documented(client.post("/api/users", json={"user": user}), 201, SessionResponse)


def test_a_list_item_with_an_extra_key_would_not_match(client, world):
    body = client.get("/api/articles").get_json()
    body["articles"][0]["body"] = "lists never carry the body"
    with pytest.raises(ma.ValidationError):
        strict_load(ArticleListResponse(), body)
