"""The OpenAPI document states the rules the code enforces, and nothing looser: the field rules
(length, blank, NUL, formats), the statuses each operation can answer (no blanket ``default``),
and links that name real operations. Schema fuzzing (tests/fuzz/run.py) relies on all three.

Each exported pattern is checked against the server itself: a value the pattern accepts is
accepted by the API, a value it refuses gets the API's 422 (read with jsonschema-rs, the ECMA
reading a client's validator has)."""

from __future__ import annotations

import jsonschema_rs
import pytest

from app.api.schemas import LIMIT_MAX
from app.models.article import TAGS_PER_ARTICLE_MAX
from tests.conftest import auth_header, register

SPEC_URL = "/api/openapi.json"
NOT_API = {SPEC_URL, "/api/docs"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
# Values on the edges of the rules: Python's whitespace that ECMA's \s lacks (U+001C) and the
# other way round (U+FEFF), NUL, a "long s" that Unicode case folding takes for "s".
EMAILS = ["a@b.co", "a b@c.de", "a@b", "a\x1c@b.co", "a\ufeff@b.co", "a\x00@b.co", "@b.co"]
USERNAMES = ["bob", "b ob", "b/ob", "b?ob", "b%ob", "b\x1cob", "b\ufeffob", "bøb", "b\u3000ob"]
IMAGES = ["https://x.io/a.png", "HTTP://x.io", "http\u017f://x.io", "ftp://x.io", "https://x .io"]
BIOS = ["", "   ", "\x1c", " " * 4001, "x" * 4000, "a\x00b", "\u2028"]


@pytest.fixture
def spec(client):
    return client.get(SPEC_URL).get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def component(spec, name: str) -> dict:
    return spec["components"]["schemas"][name]


def query_parameter(spec, path: str, name: str) -> dict:
    (parameter,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
    return parameter["schema"]


def documented_valid(schema: dict, value: object) -> bool:
    return jsonschema_rs.validator_for(schema).is_valid(value)


# --- field rules ---------------------------------------------------------------------------------


def test_text_fields_export_their_length_and_not_blank_rules(spec):
    article = component(spec, "NewArticle")["properties"]
    assert article["title"]["maxLength"] == 200
    assert article["title"]["minLength"] == 1
    assert not documented_valid(article["title"], " \t")
    assert not documented_valid(article["title"], "a\x00b")
    assert documented_valid(article["title"], " a ")


def test_the_password_exports_its_minimum_length(spec):
    assert component(spec, "NewUser")["properties"]["password"]["minLength"] == 8


def test_the_tag_list_exports_its_cap_and_its_item_rules(spec):
    tag_list = component(spec, "NewArticle")["properties"]["tagList"]
    assert tag_list["maxItems"] == TAGS_PER_ARTICLE_MAX
    assert tag_list["items"]["maxLength"] == 64
    assert not documented_valid(tag_list["items"], "  ")


@pytest.mark.parametrize("name", ["tag", "author", "favorited"])
def test_list_filters_export_their_length_and_refuse_nul(spec, name):
    schema = query_parameter(spec, "/api/articles", name)
    assert schema["maxLength"] == 64
    assert documented_valid(schema, "")  # an empty filter means no filter
    assert not documented_valid(schema, "a\x00")


def test_limit_is_documented_from_0_as_the_code_takes_it(spec, client):
    schema = query_parameter(spec, "/api/articles", "limit")
    assert schema["minimum"] == 0
    assert str(LIMIT_MAX) in query_parameter_description(spec, "limit")
    assert client.get("/api/articles?limit=0").status_code == 200
    assert client.get("/api/articles?limit=-1").status_code == 422


def query_parameter_description(spec, name: str) -> str:
    (parameter,) = [
        p for p in spec["paths"]["/api/articles"]["get"]["parameters"] if p["name"] == name
    ]
    return parameter["description"]


@pytest.mark.parametrize("email", EMAILS)
def test_the_email_pattern_agrees_with_registration(spec, client, email):
    schema = component(spec, "NewUser")["properties"]["email"]
    user = {"username": "pat", "email": email, "password": "correct horse battery"}
    response = client.post("/api/users", json={"user": user})
    assert response.status_code == (201 if documented_valid(schema, email) else 422)


@pytest.mark.parametrize("username", USERNAMES)
def test_the_username_pattern_agrees_with_registration(spec, client, username):
    schema = component(spec, "NewUser")["properties"]["username"]
    user = {"username": username, "email": "pat@example.com", "password": "correct horse battery"}
    response = client.post("/api/users", json={"user": user})
    assert response.status_code == (201 if documented_valid(schema, username) else 422)


@pytest.mark.parametrize("image", IMAGES)
def test_the_image_pattern_agrees_with_the_update(spec, client, user, image):
    schema = component(spec, "UserChanges")["properties"]["image"]
    response = client.put(
        "/api/user", json={"user": {"image": image}}, headers=auth_header(user["token"])
    )
    assert response.status_code == (200 if documented_valid(schema, image) else 422)


@pytest.mark.parametrize("bio", BIOS)
def test_the_bio_rules_agree_with_the_update(spec, client, user, bio):
    schema = component(spec, "UserChanges")["properties"]["bio"]
    response = client.put(
        "/api/user", json={"user": {"bio": bio}}, headers=auth_header(user["token"])
    )
    assert response.status_code == (200 if documented_valid(schema, bio) else 422)


# --- what the fuzzing found in the code ----------------------------------------------------


def test_an_image_url_whose_scheme_only_folds_to_http_is_422(client, user):
    # Case-insensitive matching took U+017F (long s) for "s"; the scheme is now spelled out.
    response = client.put(
        "/api/user",
        json={"user": {"image": "http\u017f://x.io"}},
        headers=auth_header(user["token"]),
    )
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"image": ["must be an http(s) URL"]}}


def test_a_blank_bio_longer_than_the_maximum_is_422(client, user):
    response = client.put(
        "/api/user", json={"user": {"bio": " " * 4001}}, headers=auth_header(user["token"])
    )
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"bio": ["is too long (maximum is 4000 characters)"]}}


def test_a_blank_filter_longer_than_the_maximum_is_422(client):
    response = client.get("/api/articles", query_string={"tag": " " * 65})
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"tag": ["is too long (maximum is 64 characters)"]}}


# --- statuses ------------------------------------------------------------------------------------


def test_no_operation_has_a_blanket_default_response(spec):
    assert [(p, m) for p, m, op in operations(spec) if "default" in op["responses"]] == []


@pytest.mark.parametrize("status", ["429", "500", "503"])
def test_every_api_operation_documents_rate_limits_the_database_and_a_500(spec, status):
    api = [
        (p, m, op) for p, m, op in operations(spec) if p.startswith("/api/") and p not in NOT_API
    ]
    missing = [(p, m) for p, m, op in api if status not in op["responses"]]
    assert len(api) > 20
    assert missing == []


def test_every_operation_with_a_json_body_documents_413(spec):
    with_body = [(p, m, op) for p, m, op in operations(spec) if "requestBody" in op]
    assert with_body
    assert [(p, m) for p, m, op in with_body if "413" not in op["responses"]] == []


def test_an_oversized_json_body_is_the_documented_413(app, client, user):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/api/articles",
        data=b'{"article": "' + b"x" * limit + b'"}',
        headers={**auth_header(user["token"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_server_error_responses_have_the_error_envelope(spec):
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    schemas = {
        (p, m): op["responses"]["500"]["content"]["application/json"]["schema"]
        for p, m, op in operations(spec)
        if "500" in op["responses"]
    }
    assert schemas
    assert {key: schema for key, schema in schemas.items() if schema != envelope} == {}


# --- operation ids and links ---------------------------------------------------------------------


def test_every_operation_has_a_unique_operation_id(spec):
    # The document's own routes (the JSON and the docs page) are no API operations.
    ids = [op.get("operationId") for p, _, op in operations(spec) if p not in NOT_API]
    assert None not in ids
    assert len(ids) == len(set(ids))


def test_links_name_existing_operations_and_their_path_parameters(spec):
    by_id = {
        op["operationId"]: (path, op) for path, _, op in operations(spec) if "operationId" in op
    }
    links = [
        link
        for _, _, op in operations(spec)
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 10
    for link in links:
        path, _ = by_id[link["operationId"]]
        assert all(f"{{{name}}}" in path for name in link["parameters"])


def test_the_created_article_link_leads_to_the_article(spec, client, user):
    links = spec["paths"]["/api/articles"]["post"]["responses"]["201"]["links"]
    pointer = links["get_article"]["parameters"]["slug"].removeprefix("$response.body#")
    created = client.post(
        "/api/articles",
        json={"article": {"title": "Linked", "description": "d", "body": "b"}},
        headers=auth_header(user["token"]),
    ).get_json()
    slug = created
    for part in pointer.strip("/").split("/"):
        slug = slug[part]
    assert client.get(f"/api/articles/{slug}").status_code == 200


def test_the_new_comment_link_deletes_that_comment(spec, client, user):
    link = spec["paths"]["/api/articles/{slug}/comments"]["post"]["responses"]["201"]["links"]
    assert link["delete_comment"]["parameters"]["comment_id"] == "$response.body#/comment/id"
    token = auth_header(user["token"])
    slug = client.post(
        "/api/articles",
        json={"article": {"title": "C", "description": "d", "body": "b"}},
        headers=token,
    ).get_json()["article"]["slug"]
    comment = client.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "hi"}}, headers=token
    ).get_json()["comment"]
    assert (
        client.delete(f"/api/articles/{slug}/comments/{comment['id']}", headers=token).status_code
        == 204
    )


def test_the_registration_link_leads_to_the_new_profile(spec, client):
    links = spec["paths"]["/api/users"]["post"]["responses"]["201"]["links"]
    assert links["get_profile"]["parameters"] == {"username": "$response.body#/user/username"}
    username = register(client, "linda")["username"]
    assert client.get(f"/api/profiles/{username}").status_code == 200
