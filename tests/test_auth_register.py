"""POST /api/users: registration, as the contract describes it."""

import json

import pytest

from tests.conftest import assert_error, auth_header, register

URL = "/api/users"
BLANK = ["can't be blank"]
NOT_AN_OBJECT = {"body": ["must be a JSON object"]}
NOT_A_STRING = ["must be a string"]
NUL = ["must not contain NUL bytes"]
BAD_USERNAME = ["may not contain spaces, slashes, '?', '#' or '%'"]
FIELDS = ("username", "email", "password")
_ABSENT = object()


def new_user(**changes):
    """A valid registration body; pass ``field=_ABSENT`` to leave a field out."""
    user = {"username": "alice", "email": "alice@example.com", "password": "correct horse battery"}
    for key, value in changes.items():
        if value is _ABSENT:
            user.pop(key)
        else:
            user[key] = value
    return {"user": user}


def login(client, email, password):
    return client.post("/api/users/login", json={"user": {"email": email, "password": password}})


# --- success -------------------------------------------------------------------------------------


def test_register_returns_201_with_exactly_the_user_fields(client):
    response = client.post(URL, json=new_user())

    assert response.status_code == 201
    assert response.mimetype == "application/json"
    user = response.get_json()["user"]
    assert list(user) == ["email", "token", "username", "bio", "image", "refreshToken"]
    assert user == {
        "email": "alice@example.com",
        "token": user["token"],
        "username": "alice",
        "bio": None,
        "image": None,
        "refreshToken": user["refreshToken"],
    }
    assert isinstance(user["token"], str)
    assert user["token"].count(".") == 2
    assert user["refreshToken"].count(".") == 2
    assert user["refreshToken"] != user["token"]


def test_register_response_never_contains_the_password_or_its_hash(client):
    response = client.post(URL, json=new_user())

    assert response.status_code == 201
    assert b"password" not in response.data
    assert b"correct horse battery" not in response.data
    assert b"argon2" not in response.data


def test_register_token_authenticates_the_new_user(client):
    token = client.post(URL, json=new_user()).get_json()["user"]["token"]

    response = client.get("/api/user", headers=auth_header(token))

    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "alice"


def test_registered_user_can_log_in(client):
    client.post(URL, json=new_user())

    assert login(client, "alice@example.com", "correct horse battery").status_code == 200


def test_unknown_extra_keys_are_ignored(client):
    body = new_user(bio="sneaky", image="https://example.com/a.png", admin=True, id=99)
    body["extra"] = {"anything": 1}

    response = client.post(URL, json=body)

    assert response.status_code == 201
    user = response.get_json()["user"]
    assert (user["username"], user["bio"], user["image"]) == ("alice", None, None)


# --- blank and missing ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", [_ABSENT, "", "   ", "\t\n", None], ids=repr)
def test_blank_field_is_422_cant_be_blank(client, field, value):
    response = client.post(URL, json=new_user(**{field: value}))

    assert_error(response, 422, {field: BLANK})


def test_every_missing_field_is_reported(client):
    response = client.post(URL, json={"user": {}})

    assert_error(response, 422, {"username": BLANK, "email": BLANK, "password": BLANK})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {}},
        {"json": {"user": None}},
        {"json": {"username": "alice", "email": "alice@example.com", "password": "x" * 8}},
        {"data": b"", "content_type": "application/json"},
        {"data": b"  \n ", "content_type": "application/json"},
        {},
    ],
    ids=["empty-object", "null-user", "no-envelope", "empty-body", "whitespace-body", "no-body"],
)
def test_missing_user_envelope_is_422_user_cant_be_blank(client, kwargs):
    response = client.post(URL, **kwargs)

    assert_error(response, 422, {"user": BLANK})


# --- wrong JSON types and malformed JSON -------------------------------------------------------


@pytest.mark.parametrize("body", [[], [new_user()], "alice", 42, None, True], ids=repr)
def test_body_that_is_not_an_object_is_422_body(client, body):
    response = client.post(URL, data=json.dumps(body), content_type="application/json")

    assert_error(response, 422, NOT_AN_OBJECT)


@pytest.mark.parametrize("envelope", ["alice", 1, [], ["alice"], True], ids=repr)
def test_user_that_is_not_an_object_is_422_body(client, envelope):
    response = client.post(URL, json={"user": envelope})

    assert_error(response, 422, NOT_AN_OBJECT)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", [12345678, 1.5, True, ["x" * 8], {"x": "y" * 8}], ids=repr)
def test_field_that_is_not_a_string_is_422_on_that_field(client, field, value):
    response = client.post(URL, json=new_user(**{field: value}))

    assert_error(response, 422, {field: NOT_A_STRING})


@pytest.mark.parametrize(
    "raw",
    [b'{"user": {"username": "alice"', b"{user: 1}", b"{'user': {}}", b'{"user": "\xff"}'],
    ids=["truncated", "unquoted-key", "single-quotes", "invalid-utf8"],
)
def test_malformed_json_is_400_body(client, raw):
    response = client.post(URL, data=raw, content_type="application/json")

    assert_error(response, 400, {"body": ["malformed JSON"]})


def test_json_is_read_whatever_the_content_type(client):
    response = client.post(URL, data=json.dumps(new_user()), content_type="text/plain")

    assert response.status_code == 201


# --- field rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "alice@example", "@example.com", "alice@", "al ice@example.com", "a@b@c.com"],
)
def test_invalid_email_is_422_email(client, email):
    response = client.post(URL, json=new_user(email=email))

    assert_error(response, 422, {"email": ["is invalid"]})


def test_password_shorter_than_8_is_422(client):
    response = client.post(URL, json=new_user(password="1234567"))

    assert_error(response, 422, {"password": ["is too short (minimum is 8 characters)"]})


def test_password_length_counts_characters_not_bytes(client):
    response = client.post(URL, json=new_user(password="€" * 7))  # 21 bytes, 7 characters

    assert_error(response, 422, {"password": ["is too short (minimum is 8 characters)"]})


@pytest.mark.parametrize("length", [8, 64, 256])
def test_password_of_accepted_length_registers_and_logs_in(client, length):
    password = "p" * length

    assert client.post(URL, json=new_user(password=password)).status_code == 201
    assert login(client, "alice@example.com", password).status_code == 200


@pytest.mark.parametrize("length", [257, 100_000])
def test_password_over_256_characters_is_422_not_500(client, length):
    response = client.post(URL, json=new_user(password="p" * length))

    assert_error(response, 422, {"password": ["is too long (maximum is 256 characters)"]})


def test_multibyte_password_over_72_bytes_registers_and_logs_in(client):
    password = "€" * 100  # 300 bytes: past bcrypt's limit, fine for argon2

    assert client.post(URL, json=new_user(password=password)).status_code == 201
    assert login(client, "alice@example.com", password).status_code == 200
    # Every byte counts: the same password minus its last character is refused.
    assert login(client, "alice@example.com", "€" * 99).status_code == 401


def test_password_is_not_trimmed(client):
    client.post(URL, json=new_user(password="  spaced out  "))

    assert login(client, "alice@example.com", "  spaced out  ").status_code == 200
    assert login(client, "alice@example.com", "spaced out").status_code == 401


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "ali\x00ce"), ("email", "ali\x00ce@example.com"), ("password", "pass\x00word")],
)
def test_nul_byte_in_a_field_is_422(client, field, value):
    response = client.post(URL, json=new_user(**{field: value}))

    assert_error(response, 422, {field: NUL})


def test_username_of_64_characters_is_accepted(client):
    response = client.post(URL, json=new_user(username="u" * 64))

    assert response.status_code == 201
    assert response.get_json()["user"]["username"] == "u" * 64


def test_username_over_64_characters_is_422(client):
    response = client.post(URL, json=new_user(username="u" * 65))

    assert_error(response, 422, {"username": ["is too long (maximum is 64 characters)"]})


def test_email_of_254_characters_is_accepted(client):
    email = "e" * (254 - len("@example.com")) + "@example.com"

    response = client.post(URL, json=new_user(email=email))

    assert response.status_code == 201
    assert response.get_json()["user"]["email"] == email


def test_email_over_254_characters_is_422(client):
    email = "e" * (255 - len("@example.com")) + "@example.com"

    response = client.post(URL, json=new_user(email=email))

    assert_error(response, 422, {"email": ["is too long (maximum is 254 characters)"]})


@pytest.mark.parametrize(
    "username", ["ali/ce", "ali ce", " alice", "alice\t", "ali\\ce", "ali?ce", "ali#ce", "ali%ce"]
)
def test_username_unusable_in_a_url_path_is_422(client, username):
    response = client.post(URL, json=new_user(username=username))

    assert_error(response, 422, {"username": BAD_USERNAME})


def test_non_ascii_username_is_accepted(client):
    response = client.post(URL, json=new_user(username="Zoë_Ünal-1.0"))

    assert response.status_code == 201
    assert response.get_json()["user"]["username"] == "Zoë_Ünal-1.0"


def test_several_invalid_fields_are_all_reported(client):
    response = client.post(URL, json={"user": {"username": "a b", "email": "x", "password": "1"}})

    assert_error(
        response,
        422,
        {
            "username": BAD_USERNAME,
            "email": ["is invalid"],
            "password": ["is too short (minimum is 8 characters)"],
        },
    )


# --- uniqueness ----------------------------------------------------------------------------------


def test_duplicate_username_is_409_username(client):
    register(client, "alice", "alice@example.com")

    response = client.post(URL, json=new_user(email="other@example.com"))

    assert_error(response, 409, {"username": ["has already been taken"]})


def test_duplicate_email_is_409_email(client):
    register(client, "alice", "alice@example.com")

    response = client.post(URL, json=new_user(username="bob"))

    assert_error(response, 409, {"email": ["has already been taken"]})


def test_username_is_unique_regardless_of_case(client):
    register(client, "alice", "alice@example.com")

    response = client.post(URL, json=new_user(username="ALICE", email="other@example.com"))

    assert_error(response, 409, {"username": ["has already been taken"]})


def test_email_is_unique_regardless_of_case(client):
    register(client, "alice", "alice@example.com")

    response = client.post(URL, json=new_user(username="bob", email="Alice@EXAMPLE.com"))

    assert_error(response, 409, {"email": ["has already been taken"]})


def test_username_and_email_both_taken_reports_username(client):
    register(client, "alice", "alice@example.com")

    response = client.post(URL, json=new_user())

    assert_error(response, 409, {"username": ["has already been taken"]})


def test_duplicate_non_ascii_email_is_409_email(client):
    register(client, "emile", "Émile@example.com")

    response = client.post(URL, json=new_user(username="bob", email="Émile@example.com"))

    assert_error(response, 409, {"email": ["has already been taken"]})


def test_rejected_duplicate_creates_no_account(client):
    register(client, "alice", "alice@example.com")

    client.post(URL, json=new_user(email="second@example.com", password="another password"))

    assert login(client, "second@example.com", "another password").status_code == 401


def test_rejected_invalid_registration_creates_no_account(client):
    client.post(URL, json=new_user(username="a b"))

    assert client.post(URL, json=new_user(username="bob")).status_code == 201
