"""GET and PUT /api/user: the authenticated user reads and changes its own account."""

import pytest

from tests.conftest import assert_error, auth_header, register

URL = "/api/user"
BLANK = ["can't be blank"]
TAKEN = ["has already been taken"]
PASSWORD = "correct horse battery"


def update(client, token, **changes):
    return client.put(URL, headers=auth_header(token), json={"user": changes})


def current(client, token):
    response = client.get(URL, headers=auth_header(token))
    assert response.status_code == 200, response.data
    return response.get_json()["user"]


def login(client, email, password):
    return client.post("/api/users/login", json={"user": {"email": email, "password": password}})


def without_token(user):
    """The user without its tokens (PUT and GET carry no refreshToken; login does)."""
    return {key: value for key, value in user.items() if key not in {"token", "refreshToken"}}


# --- GET /api/user -------------------------------------------------------------------------------


def test_get_returns_the_user_with_the_token_that_was_sent(client, user):
    response = client.get(URL, headers=auth_header(user["token"]))

    assert response.status_code == 200
    body = response.get_json()["user"]
    assert list(body) == ["email", "token", "username", "bio", "image"]
    assert body == {
        "email": "alice@example.com",
        "token": user["token"],
        "username": "alice",
        "bio": None,
        "image": None,
    }


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer", "token", "TOKEN", "BEARER"])
def test_get_accepts_token_and_bearer_schemes_in_any_case(client, user, scheme):
    response = client.get(URL, headers=auth_header(user["token"], scheme))

    assert response.status_code == 200
    assert response.get_json()["user"]["token"] == user["token"]


def test_get_tolerates_extra_spaces_around_the_token(client, user):
    response = client.get(URL, headers={"Authorization": f"  Bearer   {user['token']}  "})

    assert response.status_code == 200
    assert response.get_json()["user"]["token"] == user["token"]


def test_get_returns_the_right_user_among_several(client, user):
    bob = register(client, "bob", "bob@example.com")

    assert current(client, bob["token"])["username"] == "bob"
    assert current(client, user["token"])["username"] == "alice"


# --- PUT /api/user: changes ----------------------------------------------------------------------


def test_put_changes_email_and_login_uses_the_new_one(client, user):
    response = update(client, user["token"], email="alice@new.example.com")

    assert response.status_code == 200
    assert response.get_json()["user"]["email"] == "alice@new.example.com"
    assert current(client, user["token"])["email"] == "alice@new.example.com"
    assert login(client, "alice@new.example.com", PASSWORD).status_code == 200
    assert login(client, "alice@example.com", PASSWORD).status_code == 401


def test_put_changes_username_and_frees_the_old_one(client, user):
    response = update(client, user["token"], username="alicia")

    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "alicia"
    assert current(client, user["token"])["username"] == "alicia"
    register(client, "alice", "another-alice@example.com")


def test_put_changes_bio_and_image(client, user):
    response = update(client, user["token"], bio="I like tea", image="https://example.com/a.png")

    assert response.status_code == 200
    assert without_token(response.get_json()["user"]) == {
        "email": "alice@example.com",
        "username": "alice",
        "bio": "I like tea",
        "image": "https://example.com/a.png",
    }
    assert without_token(current(client, user["token"])) == without_token(
        response.get_json()["user"]
    )


def test_put_changes_password_new_one_logs_in_old_one_fails(client, user):
    response = update(client, user["token"], password="a brand new password")

    assert response.status_code == 200
    assert b"password" not in response.data
    assert login(client, "alice@example.com", "a brand new password").status_code == 200
    old = login(client, "alice@example.com", PASSWORD)
    assert old.status_code == 401
    assert old.get_json() == {"errors": {"credentials": ["invalid"]}}


def test_put_returns_a_token_that_works(client, user):
    token = update(client, user["token"], bio="hello").get_json()["user"]["token"]

    assert current(client, token)["bio"] == "hello"


def test_put_leaves_fields_not_sent_unchanged(client, user):
    update(client, user["token"], bio="I like tea", image="https://example.com/a.png")

    response = update(client, user["token"], username="alicia")

    assert without_token(response.get_json()["user"]) == {
        "email": "alice@example.com",
        "username": "alicia",
        "bio": "I like tea",
        "image": "https://example.com/a.png",
    }


@pytest.mark.parametrize("field", ["bio", "image"])
@pytest.mark.parametrize("value", ["", "   ", None], ids=repr)
def test_put_empty_or_null_bio_and_image_are_stored_as_null(client, user, field, value):
    update(client, user["token"], bio="I like tea", image="https://example.com/a.png")

    response = update(client, user["token"], **{field: value})

    assert response.status_code == 200
    assert response.get_json()["user"][field] is None
    assert current(client, user["token"])[field] is None


def test_put_empty_body_object_returns_the_user_unchanged(client, user):
    update(client, user["token"], bio="I like tea")
    before = current(client, user["token"])

    response = client.put(URL, headers=auth_header(user["token"]), json={"user": {}})

    assert response.status_code == 200
    assert without_token(response.get_json()["user"]) == without_token(before)


def test_put_accepts_the_whole_user_object_sent_back_with_its_token(client, user):
    sent_back = dict(user, bio="edited in a SPA form")

    response = client.put(URL, headers=auth_header(user["token"]), json={"user": sent_back})

    assert response.status_code == 200
    assert without_token(response.get_json()["user"]) == without_token(sent_back)


@pytest.mark.parametrize("value", ["alice", "ALICE", "Alice"])
def test_put_keeping_own_username_in_any_case_is_fine(client, user, value):
    response = update(client, user["token"], username=value)

    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == value


@pytest.mark.parametrize("value", ["alice@example.com", "ALICE@Example.COM"])
def test_put_keeping_own_email_in_any_case_is_fine(client, user, value):
    response = update(client, user["token"], email=value)

    assert response.status_code == 200
    assert response.get_json()["user"]["email"] == value
    assert login(client, "alice@example.com", PASSWORD).status_code == 200


def test_put_accepts_uppercase_scheme_in_image_url(client, user):
    response = update(client, user["token"], image="HTTP://EXAMPLE.COM/A.PNG")

    assert response.status_code == 200
    assert response.get_json()["user"]["image"] == "HTTP://EXAMPLE.COM/A.PNG"


def test_put_accepts_a_bio_of_4000_characters(client, user):
    response = update(client, user["token"], bio="b" * 4000)

    assert response.status_code == 200
    assert response.get_json()["user"]["bio"] == "b" * 4000


# --- PUT /api/user: refusals ---------------------------------------------------------------------


@pytest.mark.parametrize("field", ["email", "username"])
@pytest.mark.parametrize("value", ["", "   ", None], ids=repr)
def test_put_blank_or_null_email_or_username_is_422(client, user, field, value):
    response = update(client, user["token"], **{field: value})

    assert_error(response, 422, {field: BLANK})
    assert current(client, user["token"])[field] == user[field]


@pytest.mark.parametrize(
    "image",
    [
        "not a url",
        "javascript:alert(1)",
        "ftp://example.com/a.png",
        "//example.com/a.png",
        "https://",
        "https://exa mple.com/a.png",
        "data:image/png;base64,AAAA",
    ],
)
def test_put_image_that_is_not_an_http_url_is_422(client, user, image):
    response = update(client, user["token"], image=image)

    assert_error(response, 422, {"image": ["must be an http(s) URL"]})


def test_put_bio_over_4000_characters_is_422(client, user):
    response = update(client, user["token"], bio="b" * 4001)

    assert_error(response, 422, {"bio": ["is too long (maximum is 4000 characters)"]})


def test_put_image_over_2048_characters_is_422(client, user):
    image = "https://example.com/" + "i" * 2030

    response = update(client, user["token"], image=image)

    assert_error(response, 422, {"image": ["is too long (maximum is 2048 characters)"]})


@pytest.mark.parametrize(
    ("field", "value", "errors"),
    [
        ("email", "not-an-email", ["is invalid"]),
        ("username", "ali ce", ["may not contain spaces, slashes, '?', '#' or '%'"]),
        ("password", "short", ["is too short (minimum is 8 characters)"]),
        ("password", "p" * 257, ["is too long (maximum is 256 characters)"]),
        ("bio", 42, ["must be a string"]),
        ("bio", "nul\x00byte", ["must not contain NUL bytes"]),
    ],
    ids=lambda value: repr(value)[:20],
)
def test_put_invalid_field_is_422(client, user, field, value, errors):
    response = update(client, user["token"], **{field: value})

    assert_error(response, 422, {field: errors})


def test_put_blank_password_is_422_and_keeps_the_old_one(client, user):
    response = update(client, user["token"], password="")

    assert_error(response, 422, {"password": BLANK})
    assert login(client, "alice@example.com", PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "bob"),
        ("username", "BOB"),
        ("email", "bob@example.com"),
        ("email", "Bob@EXAMPLE.com"),
    ],
)
def test_put_taking_another_users_username_or_email_is_409(client, user, field, value):
    register(client, "bob", "bob@example.com")

    response = update(client, user["token"], **{field: value})

    assert_error(response, 409, {field: TAKEN})
    assert current(client, user["token"])[field] == user[field]


def test_put_rejected_for_one_field_applies_none_of_the_others(client, user):
    response = update(client, user["token"], bio="should not stick", email="")

    assert_error(response, 422, {"email": BLANK})
    assert current(client, user["token"])["bio"] is None


def test_put_conflict_applies_none_of_the_other_changes(client, user):
    register(client, "bob", "bob@example.com")

    response = update(client, user["token"], bio="should not stick", username="bob")

    assert_error(response, 409, {"username": TAKEN})
    assert current(client, user["token"])["bio"] is None


@pytest.mark.parametrize(
    "kwargs",
    [{"json": {}}, {"json": {"user": None}}, {"data": b"", "content_type": "application/json"}],
    ids=["empty-object", "null-user", "empty-body"],
)
def test_put_without_user_envelope_is_422_user(client, user, kwargs):
    response = client.put(URL, headers=auth_header(user["token"]), **kwargs)

    assert_error(response, 422, {"user": BLANK})


@pytest.mark.parametrize("body", [["bio"], "bio", {"user": "bio"}, {"user": ["bio"]}], ids=repr)
def test_put_wrong_json_type_is_422_body(client, user, body):
    response = client.put(URL, headers=auth_header(user["token"]), json=body)

    assert_error(response, 422, {"body": ["must be a JSON object"]})


def test_put_malformed_json_is_400_body(client, user):
    response = client.put(
        URL, headers=auth_header(user["token"]), data=b'{"user": {', content_type="application/json"
    )

    assert_error(response, 400, {"body": ["malformed JSON"]})


def test_put_without_token_is_401_before_the_body_is_looked_at(client, user):
    response = client.put(URL, data=b"{not json", content_type="application/json")

    assert_error(response, 401, {"token": ["is missing"]})
