"""POST /api/users/login: credentials in, the user and a token out; failures reveal nothing."""

import statistics
import time

import pytest

from tests.conftest import assert_error, auth_header, register

URL = "/api/users/login"
PASSWORD = "correct horse battery"
BLANK = ["can't be blank"]
INVALID_CREDENTIALS = {"errors": {"credentials": ["invalid"]}}
_ABSENT = object()


def credentials(**changes):
    user = {"email": "alice@example.com", "password": PASSWORD}
    for key, value in changes.items():
        if value is _ABSENT:
            user.pop(key)
        else:
            user[key] = value
    return {"user": user}


# --- success -------------------------------------------------------------------------------------


def test_login_returns_200_with_exactly_the_user_fields(client, user):
    response = client.post(URL, json=credentials())

    assert response.status_code == 200
    body = response.get_json()["user"]
    assert list(body) == ["email", "token", "username", "bio", "image", "refreshToken"]
    assert body == {
        "email": "alice@example.com",
        "token": body["token"],
        "username": "alice",
        "bio": None,
        "image": None,
        "refreshToken": body["refreshToken"],
    }
    assert body["refreshToken"] != body["token"]
    assert b"password" not in response.data
    assert b"argon2" not in response.data


def test_login_token_authenticates_the_user(client, user):
    token = client.post(URL, json=credentials()).get_json()["user"]["token"]

    response = client.get("/api/user", headers=auth_header(token))

    assert response.status_code == 200
    assert response.get_json()["user"]["email"] == "alice@example.com"


def test_login_returns_the_current_profile_fields(client, user):
    client.put(
        "/api/user",
        headers=auth_header(user["token"]),
        json={"user": {"bio": "I like tea", "image": "https://example.com/a.png"}},
    )

    body = client.post(URL, json=credentials()).get_json()["user"]

    assert (body["bio"], body["image"]) == ("I like tea", "https://example.com/a.png")


def test_login_email_is_case_insensitive(client):
    register(client, "alice", "Alice@Example.com")

    response = client.post(URL, json=credentials(email="aLICE@example.COM"))

    assert response.status_code == 200
    assert response.get_json()["user"]["email"] == "Alice@Example.com"


def test_login_works_for_an_email_with_non_ascii_capitals(client):
    register(client, "emile", "Émile@example.com")

    response = client.post(URL, json=credentials(email="Émile@example.com"))

    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "emile"


def test_login_does_not_apply_the_registration_length_rule(client, user):
    # A short password is simply wrong at login: the rules of registration are not revealed.
    assert client.post(URL, json=credentials(password="short")).data == (
        client.post(URL, json=credentials(password="wrong password")).data
    )
    assert client.post(URL, json=credentials(password="short")).status_code == 401


# --- wrong credentials ---------------------------------------------------------------------------


def test_wrong_password_is_401_credentials_invalid(client, user):
    response = client.post(URL, json=credentials(password="wrong password"))

    assert response.status_code == 401
    assert response.get_json() == INVALID_CREDENTIALS


def test_unknown_email_is_401_credentials_invalid(client, user):
    response = client.post(URL, json=credentials(email="nobody@example.com"))

    assert response.status_code == 401
    assert response.get_json() == INVALID_CREDENTIALS


def test_unknown_email_and_wrong_password_give_byte_identical_bodies(client, user):
    wrong_password = client.post(URL, json=credentials(password="wrong password"))
    unknown_email = client.post(URL, json=credentials(email="nobody@example.com"))

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.data == unknown_email.data
    assert wrong_password.mimetype == unknown_email.mimetype == "application/json"


def test_password_is_case_sensitive(client, user):
    response = client.post(URL, json=credentials(password=PASSWORD.upper()))

    assert response.status_code == 401
    assert response.get_json() == INVALID_CREDENTIALS


def test_password_with_extra_whitespace_is_wrong(client, user):
    response = client.post(URL, json=credentials(password=PASSWORD + " "))

    assert response.status_code == 401
    assert response.get_json() == INVALID_CREDENTIALS


def test_another_users_password_does_not_work(client, user):
    register(client, "bob", "bob@example.com", password="bobs own password")

    response = client.post(URL, json=credentials(password="bobs own password"))

    assert response.status_code == 401
    assert response.get_json() == INVALID_CREDENTIALS


def test_login_with_no_accounts_at_all_is_401(client):
    response = client.post(URL, json=credentials())

    assert response.status_code == 401
    assert response.get_json() == INVALID_CREDENTIALS


def _median_login_seconds(client, bodies, rounds):
    """Median duration of a failed login per body; the bodies take turns, so a burst of load
    on the machine slows both kinds of attempt alike."""
    durations = {name: [] for name in bodies}
    for _ in range(rounds):
        for name, body in bodies.items():
            started = time.perf_counter()
            response = client.post(URL, json=body)
            durations[name].append(time.perf_counter() - started)
            assert response.status_code == 401
    return {name: statistics.median(values) for name, values in durations.items()}


def test_unknown_email_takes_about_as_long_as_a_wrong_password(make_app):
    # Costlier hashing than the default test app, so that skipping the hash for an unknown
    # email would stand out clearly against the request's own overhead (ratio about 0.1).
    timed_app = make_app(PASSWORD_HASH_TIME_COST="2", PASSWORD_HASH_MEMORY_COST="16384")
    client = timed_app.test_client()
    register(client, "alice", "alice@example.com")
    bodies = {
        "unknown_email": credentials(email="nobody@example.com"),
        "wrong_password": credentials(password="wrong password"),
    }
    _median_login_seconds(client, bodies, 1)  # warm both paths up

    median = _median_login_seconds(client, bodies, 7)

    ratio = median["unknown_email"] / median["wrong_password"]
    assert 0.5 < ratio < 2.0, f"unknown email / wrong password timing ratio is {ratio:.2f}"


# --- invalid requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["email", "password"])
@pytest.mark.parametrize("value", [_ABSENT, "", "   ", None], ids=repr)
def test_blank_field_is_422_cant_be_blank(client, user, field, value):
    response = client.post(URL, json=credentials(**{field: value}))

    assert_error(response, 422, {field: BLANK})


def test_both_fields_missing_are_both_reported(client):
    response = client.post(URL, json={"user": {}})

    assert_error(response, 422, {"email": BLANK, "password": BLANK})


@pytest.mark.parametrize(
    "kwargs",
    [{"json": {}}, {"json": {"user": None}}, {"data": b"", "content_type": "application/json"}],
    ids=["empty-object", "null-user", "empty-body"],
)
def test_missing_user_envelope_is_422_user(client, kwargs):
    response = client.post(URL, **kwargs)

    assert_error(response, 422, {"user": BLANK})


@pytest.mark.parametrize("body", [[credentials()], {"user": "alice@example.com"}], ids=repr)
def test_wrong_json_type_is_422_body(client, body):
    response = client.post(URL, json=body)

    assert_error(response, 422, {"body": ["must be a JSON object"]})


def test_password_that_is_not_a_string_is_422(client, user):
    response = client.post(URL, json=credentials(password=12345678))

    assert_error(response, 422, {"password": ["must be a string"]})


def test_malformed_json_is_400_body(client):
    response = client.post(URL, data=b'{"user": {"email": ', content_type="application/json")

    assert_error(response, 400, {"body": ["malformed JSON"]})


@pytest.mark.parametrize("length", [257, 500_000])
def test_over_long_password_is_422_not_500(client, user, length):
    response = client.post(URL, json=credentials(password="p" * length))

    assert_error(response, 422, {"password": ["is too long (maximum is 256 characters)"]})


def test_over_long_email_is_422_not_500(client):
    response = client.post(URL, json=credentials(email="e" * 300 + "@example.com"))

    assert_error(response, 422, {"email": ["is too long (maximum is 254 characters)"]})


def test_nul_byte_in_email_is_422_not_500(client):
    response = client.post(URL, json=credentials(email="alice\x00@example.com"))

    assert_error(response, 422, {"email": ["must not contain NUL bytes"]})


def test_login_sets_no_cookie_and_a_cookie_is_never_read(client, user):
    # Tokens travel in Authorization only: no session cookie to steal or to ride (CSRF).
    response = client.post(URL, json=credentials(), headers={"Cookie": "session=forged"})

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    token = response.get_json()["user"]["token"]
    assert "Set-Cookie" not in client.get("/api/user", headers=auth_header(token)).headers
