"""The hot read routes answer with dicts built by the read side instead of dumping through the
response schemas; these tests hold both to the same shape, so the OpenAPI document stays true."""

import marshmallow as ma
import pytest

from app.api.schemas import (
    ArticleListResponse,
    ArticleResponse,
    CommentListResponse,
    ProfileResponse,
    TagListResponse,
)
from tests.conftest import auth_header, register


@pytest.fixture
def world(client):
    ann = register(client, "ann")["token"]
    bob = register(client, "bob")["token"]
    article = client.post(
        "/api/articles",
        json={"article": {"title": "T", "description": "d", "body": "b", "tagList": ["x"]}},
        headers=auth_header(ann),
    ).get_json()["article"]
    client.post(f"/api/articles/{article['slug']}/favorite", headers=auth_header(bob))
    client.post("/api/profiles/ann/follow", headers=auth_header(bob))
    client.post(
        f"/api/articles/{article['slug']}/comments",
        json={"comment": {"body": "hi"}},
        headers=auth_header(bob),
    )
    return {"slug": article["slug"], "bob": bob}


def strict_load(schema: ma.Schema, body: dict) -> None:
    """Raises on a missing required key or a key the schema does not document."""
    schema.load(body, unknown=ma.RAISE)


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/api/articles", ArticleListResponse),
        ("/api/articles/feed", ArticleListResponse),
        ("/api/articles/{slug}", ArticleResponse),
        ("/api/articles/{slug}/comments", CommentListResponse),
        ("/api/profiles/ann", ProfileResponse),
        ("/api/tags", TagListResponse),
    ],
)
def test_read_responses_match_their_documented_schema(client, world, path, schema):
    response = client.get(path.format(slug=world["slug"]), headers=auth_header(world["bob"]))
    assert response.status_code == 200
    body = response.get_json()
    assert body  # a non-empty envelope, so the check below has something to check
    strict_load(schema(), body)


def test_a_list_item_with_an_extra_key_would_not_match(client, world):
    body = client.get("/api/articles").get_json()
    body["articles"][0]["body"] = "lists never carry the body"
    with pytest.raises(ma.ValidationError):
        strict_load(ArticleListResponse(), body)
