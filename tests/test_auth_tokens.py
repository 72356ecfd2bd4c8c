"""JWT access tokens on protected routes: every failure is a 401 in the contract's shape."""

import base64
import json
import time
import uuid
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token
from sqlalchemy import delete, select

from app.extensions import db
from app.models import User
from tests.conftest import auth_header, register

URL = "/api/user"
MISSING = {"errors": {"token": ["is missing"]}}
INVALID = {"errors": {"token": ["is invalid"]}}
EXPIRED = {"errors": {"token": ["has expired"]}}


def claims(**changes):
    """The claims an issued access token carries; ``None`` drops a claim. ``sub`` defaults to
    an id no user has and ``sid`` is absent, so only tests that set both can pass."""
    now = int(time.time())
    payload = {
        "fresh": False,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "type": "access",
        "sub": "999999",
        "nbf": now,
        "exp": now + 600,
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not None}


def sign(app, payload, key=None, algorithm="HS256"):
    return pyjwt.encode(payload, key or app.config["JWT_SECRET_KEY"], algorithm=algorithm)


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unb64(segment):
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def user_id(app, username="alice"):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def session_of(token):
    """The session id (``sid``) a token issued by the service carries."""
    return unb64(token.split(".")[1])["sid"]


def own(app, user, **changes):
    """The claims of a valid access token of ``user``'s session, with ``changes``."""
    valid = {"sub": str(user_id(app, user["username"])), "sid": session_of(user["token"])}
    return claims(**{**valid, **changes})


def assert_401(response, body):
    assert response.status_code == 401, response.data
    assert response.get_json() == body


def get_with(client, token, scheme="Token"):
    return client.get(URL, headers=auth_header(token, scheme))


# --- missing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_no_authorization_header_is_401_missing(client, user, method):
    response = client.open(URL, method=method, json={"user": {"bio": "x"}})

    assert_401(response, MISSING)


@pytest.mark.parametrize("header", ["", "Basic YWxpY2U6cGFzc3dvcmQ=", "JWT abc.def.ghi"])
def test_authorization_without_a_token_scheme_is_401_missing(client, user, header):
    response = client.get(URL, headers={"Authorization": header})

    assert_401(response, MISSING)


# --- invalid -------------------------------------------------------------------------------------


def test_hand_signed_token_with_our_secret_is_accepted(app, client, user):
    # The control for the forgeries below: they differ from this token in one respect only.
    token = sign(app, own(app, user))

    response = get_with(client, token)

    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "alice"


@pytest.mark.parametrize("header", ["Token", "Token ", "Bearer", "Bearer ", "token"])
def test_scheme_with_no_token_value_is_401_invalid(client, user, header):
    response = client.get(URL, headers={"Authorization": header})

    assert_401(response, INVALID)


@pytest.mark.parametrize(
    "token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "....", "null", "ä.ö.ü"]
)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_garbage_token_is_401_invalid_never_422(client, user, token, method):
    response = client.open(URL, method=method, headers=auth_header(token), json={"user": {}})

    assert_401(response, INVALID)


def test_token_with_two_values_is_401_invalid(client, user):
    response = client.get(URL, headers={"Authorization": f"Token {user['token']} extra"})

    assert_401(response, INVALID)


def test_token_signed_with_another_secret_is_401_invalid(app, client, user):
    token = sign(app, own(app, user), key="another-secret-of-at-least-32-bytes!!")

    assert_401(get_with(client, token), INVALID)


def test_token_from_an_app_with_another_secret_is_401_invalid(client, make_app):
    other = make_app(JWT_SECRET_KEY="a-different-jwt-secret-of-enough-length-1234")
    token = register(other.test_client())["token"]

    assert_401(get_with(client, token), INVALID)


def test_token_with_alg_none_is_401_invalid(app, client, user):
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(own(app, user))}."

    assert_401(get_with(client, token), INVALID)


def test_token_signed_with_pyjwt_alg_none_is_401_invalid(app, client, user):
    token = pyjwt.encode(own(app, user), None, algorithm="none")

    assert_401(get_with(client, token), INVALID)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_token_with_another_hmac_algorithm_is_401_invalid(app, client, user):
    token = sign(app, own(app, user), algorithm="HS512")  # right secret, algorithm not allowed

    assert_401(get_with(client, token), INVALID)


def test_tampered_payload_is_401_invalid(client, user):
    header, payload, signature = user["token"].split(".")
    bob = register(client, "bob", "bob@example.com")  # bob exists: only the signature stops this
    forged = dict(
        unb64(payload), sub=str(user_id(client.application, "bob")), sid=session_of(bob["token"])
    )

    assert_401(get_with(client, f"{header}.{b64(forged)}.{signature}"), INVALID)


def test_tampered_signature_is_401_invalid(client, user):
    header, payload, signature = user["token"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert_401(get_with(client, f"{header}.{payload}.{flipped}"), INVALID)


@pytest.mark.parametrize(
    "sub",
    ["abc", "", "1.5", "1e3", " 1x", None],
    ids=["word", "empty", "float", "exp", "mixed", "missing"],
)
def test_token_with_non_numeric_or_missing_sub_is_401_invalid(app, client, user, sub):
    token = sign(app, own(app, user, sub=sub))

    assert_401(get_with(client, token), INVALID)


def test_token_with_a_numeric_not_string_sub_is_401_invalid(app, client, user):
    token = sign(app, own(app, user, sub=user_id(app)))  # the right user, as a JSON number

    assert_401(get_with(client, token), INVALID)


def test_token_for_a_user_id_that_never_existed_is_401_invalid(app, client, user):
    token = sign(app, own(app, user, sub="999999"))

    assert_401(get_with(client, token), INVALID)


def test_token_for_a_deleted_user_is_401_invalid(app, client, user):
    with app.app_context():
        db.session.execute(delete(User).where(User.username == "alice"))
        db.session.commit()

    assert_401(get_with(client, user["token"]), INVALID)


def test_refresh_type_token_is_refused_on_a_protected_route(client, user):
    assert_401(get_with(client, user["refreshToken"]), INVALID)


def test_token_without_a_session_claim_is_401_invalid(app, client, user):
    token = sign(app, own(app, user, sid=None))

    assert_401(get_with(client, token), INVALID)


@pytest.mark.parametrize(
    "sid",
    ["no-such-session", "", 42, ["x"], "s" * 44],
    ids=["unknown", "empty", "int", "list", "long"],
)
def test_token_with_an_unknown_or_malformed_session_is_401_invalid(app, client, user, sid):
    token = sign(app, own(app, user, sid=sid))

    assert_401(get_with(client, token), INVALID)


def test_token_with_another_users_session_is_401_invalid(app, client, user):
    bob = register(client, "bob", "bob@example.com")
    token = sign(app, own(app, user, sid=session_of(bob["token"])))  # alice's sub, bob's sid

    assert_401(get_with(client, token), INVALID)


def test_token_without_a_signature_segment_is_401_invalid(client, user):
    header, payload, _signature = user["token"].split(".")

    assert_401(get_with(client, f"{header}.{payload}"), INVALID)


def test_token_not_yet_valid_is_401_invalid(app, client, user):
    token = sign(app, own(app, user, nbf=int(time.time()) + 600))

    assert_401(get_with(client, token), INVALID)


# --- expired -------------------------------------------------------------------------------------


def test_expired_token_is_401_has_expired(app, client, user):
    with app.app_context():
        token = create_access_token(
            identity=str(user_id(app)),
            additional_claims={"sid": session_of(user["token"])},
            expires_delta=timedelta(seconds=-1),
        )

    assert_401(get_with(client, token), EXPIRED)


def test_expired_token_on_put_is_401_has_expired(app, client, user):
    with app.app_context():
        token = create_access_token(
            identity=str(user_id(app)),
            additional_claims={"sid": session_of(user["token"])},
            expires_delta=timedelta(seconds=-1),
        )

    response = client.put(URL, headers=auth_header(token, "Bearer"), json={"user": {"bio": "x"}})

    assert_401(response, EXPIRED)


def test_expired_token_with_a_bad_signature_is_401_invalid(app, client, user):
    expired = own(app, user, exp=int(time.time()) - 10)
    token = sign(app, expired, key="not-our-secret-not-our-secret-xx")

    assert_401(get_with(client, token), INVALID)


# --- what is issued ------------------------------------------------------------------------------


def test_issued_token_is_hs256_with_a_string_sub(app, user):
    header = pyjwt.get_unverified_header(user["token"])
    payload = pyjwt.decode(user["token"], app.config["JWT_SECRET_KEY"], algorithms=["HS256"])

    assert header["alg"] == "HS256"
    assert payload["sub"] == str(user_id(app))
    assert payload["type"] == "access"
    assert isinstance(payload["sid"], str) and len(payload["sid"]) >= 22  # 128 random bits


def test_issued_token_carries_no_personal_data(app, user):
    payload = unb64(user["token"].split(".")[1])

    assert "alice" not in json.dumps(payload)


def test_issued_token_expires_after_an_hour_by_default(app, user):
    payload = unb64(user["token"].split(".")[1])

    assert payload["exp"] - payload["iat"] == 3600


def test_access_token_lifetime_comes_from_the_environment(make_app):
    short_lived = make_app(JWT_ACCESS_TOKEN_EXPIRES="120")

    token = register(short_lived.test_client())["token"]
    payload = unb64(token.split(".")[1])

    assert payload["exp"] - payload["iat"] == 120


def test_each_login_issues_a_distinct_token(client, user):
    body = {"user": {"email": "alice@example.com", "password": "correct horse battery"}}

    first = client.post("/api/users/login", json=body).get_json()["user"]["token"]
    second = client.post("/api/users/login", json=body).get_json()["user"]["token"]

    assert first != second
    assert get_with(client, first).status_code == get_with(client, second).status_code == 200
