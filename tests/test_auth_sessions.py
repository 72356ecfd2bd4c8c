"""Sessions: refresh tokens with rotation, logout, logout everywhere, and the password change that
ends every other session. Every token is refused with the contract's 401 once its session ended.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from flask_jwt_extended import create_refresh_token
from sqlalchemy import delete, select, update

from app.clock import utcnow
from app.extensions import db
from app.models import AuthSession, User
from tests.conftest import assert_error, auth_header, register
from tests.querycount import count_statements

ME = "/api/user"
REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"
LOGOUT_ALL = "/api/auth/logout-all"
PASSWORD = "correct horse battery"
INVALID = {"token": ["is invalid"]}
USER_FIELDS = ["email", "token", "username", "bio", "image"]


def payload(token):
    """The (unverified) claims of a token the service issued."""
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def login(client, email="alice@example.com", password=PASSWORD):
    response = client.post(
        "/api/users/login", json={"user": {"email": email, "password": password}}
    )
    assert response.status_code == 200, response.data
    return response.get_json()["user"]


def refresh(client, refresh_token):
    return client.post(REFRESH, headers=auth_header(refresh_token))


def me(client, token):
    return client.get(ME, headers=auth_header(token))


def accepted(client, token):
    """Whether an access token still authenticates."""
    status = me(client, token).status_code
    assert status in (200, 401)
    return status == 200


def refreshed(client, refresh_token):
    """The new user object from a successful refresh (spends ``refresh_token``)."""
    response = refresh(client, refresh_token)
    assert response.status_code == 200, response.data
    return response.get_json()["user"]


def change_password(client, token, password="a brand new password"):
    return client.put(ME, headers=auth_header(token), json={"user": {"password": password}})


# --- issuing -------------------------------------------------------------------------------------


def test_register_returns_a_refresh_token_of_the_new_session(user):
    claims = payload(user["refreshToken"])

    assert claims["type"] == "refresh"
    assert claims["sid"] == payload(user["token"])["sid"]
    assert claims["sub"] == payload(user["token"])["sub"]


def test_login_returns_a_refresh_token_of_a_new_session(client, user):
    session = login(client)

    assert payload(session["refreshToken"])["type"] == "refresh"
    assert payload(session["refreshToken"])["sid"] == payload(session["token"])["sid"]
    assert payload(session["token"])["sid"] != payload(user["token"])["sid"]


def test_refresh_token_lives_30_days_by_default(user):
    claims = payload(user["refreshToken"])

    assert claims["exp"] - claims["iat"] == pytest.approx(30 * 24 * 3600, abs=2)


def test_refresh_token_lifetime_comes_from_the_environment(make_app):
    client = make_app(JWT_REFRESH_TOKEN_EXPIRES="7200").test_client()

    claims = payload(register(client)["refreshToken"])

    assert claims["exp"] - claims["iat"] == pytest.approx(7200, abs=2)


# --- refresh -------------------------------------------------------------------------------------


def test_refresh_returns_the_user_with_an_access_and_a_refresh_token(client, user):
    response = refresh(client, user["refreshToken"])

    assert response.status_code == 200
    body = response.get_json()["user"]
    assert list(body) == [*USER_FIELDS, "refreshToken"]
    assert body == {
        "email": "alice@example.com",
        "token": body["token"],
        "username": "alice",
        "bio": None,
        "image": None,
        "refreshToken": body["refreshToken"],
    }
    assert payload(body["token"])["type"] == "access"
    assert payload(body["refreshToken"])["type"] == "refresh"


def test_refresh_rotates_the_refresh_token_within_the_same_session(client, user):
    body = refreshed(client, user["refreshToken"])

    assert body["refreshToken"] != user["refreshToken"]
    assert payload(body["refreshToken"])["jti"] != payload(user["refreshToken"])["jti"]
    assert payload(body["refreshToken"])["sid"] == payload(user["refreshToken"])["sid"]
    assert payload(body["token"])["sid"] == payload(user["token"])["sid"]


def test_refreshed_access_token_authenticates(client, user):
    token = refreshed(client, user["refreshToken"])["token"]

    assert me(client, token).get_json()["user"]["username"] == "alice"


def test_each_rotated_refresh_token_refreshes_once_more(client, user):
    refresh_token = user["refreshToken"]
    for _ in range(3):
        refresh_token = refreshed(client, refresh_token)["refreshToken"]

    assert accepted(client, refreshed(client, refresh_token)["token"])


def test_refresh_leaves_earlier_access_tokens_of_the_session_valid(client, user):
    refreshed(client, user["refreshToken"])

    assert accepted(client, user["token"])


def test_access_token_is_refused_at_refresh(client, user):
    assert_error(refresh(client, user["token"]), 401, INVALID)


def test_refresh_without_a_token_is_401_missing(client, user):
    assert_error(client.post(REFRESH), 401, {"token": ["is missing"]})


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.."])
def test_garbage_at_refresh_is_401_invalid_never_422(client, user, token):
    assert_error(refresh(client, token), 401, INVALID)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", ME),
        ("PUT", ME),
        ("GET", "/api/articles/feed"),
        ("POST", "/api/articles"),
        ("POST", "/api/profiles/alice/follow"),
        ("GET", "/api/articles"),  # optional authentication: a token sent must still be valid
        ("GET", "/api/profiles/alice"),
        ("POST", LOGOUT),
        ("POST", LOGOUT_ALL),
    ],
)
def test_refresh_token_is_refused_everywhere_but_refresh(client, user, method, url):
    response = client.open(url, method=method, headers=auth_header(user["refreshToken"]), json={})

    assert_error(response, 401, INVALID)


# --- logout --------------------------------------------------------------------------------------


def test_logout_answers_204_with_an_empty_body(client, user):
    response = client.post(LOGOUT, headers=auth_header(user["token"]))

    assert response.status_code == 204
    assert response.data == b""


def test_logout_revokes_that_access_token(client, user):
    client.post(LOGOUT, headers=auth_header(user["token"]))

    assert_error(me(client, user["token"]), 401, INVALID)


def test_logout_revokes_that_sessions_refresh_token(client, user):
    client.post(LOGOUT, headers=auth_header(user["token"]))

    assert_error(refresh(client, user["refreshToken"]), 401, INVALID)


def test_logout_revokes_access_tokens_refreshed_in_that_session(client, user):
    token = refreshed(client, user["refreshToken"])["token"]

    client.post(LOGOUT, headers=auth_header(user["token"]))

    assert_error(me(client, token), 401, INVALID)


def test_logout_leaves_the_users_other_sessions_working(client, user):
    other = login(client)

    client.post(LOGOUT, headers=auth_header(user["token"]))

    assert accepted(client, other["token"])
    assert accepted(client, refreshed(client, other["refreshToken"])["token"])


def test_logout_twice_is_401_invalid(client, user):
    client.post(LOGOUT, headers=auth_header(user["token"]))

    assert_error(client.post(LOGOUT, headers=auth_header(user["token"])), 401, INVALID)


def test_logout_without_a_token_is_401_missing(client):
    assert_error(client.post(LOGOUT), 401, {"token": ["is missing"]})


# --- logout everywhere ---------------------------------------------------------------------------


def test_logout_all_answers_204_with_an_empty_body(client, user):
    response = client.post(LOGOUT_ALL, headers=auth_header(user["token"]))

    assert response.status_code == 204
    assert response.data == b""


def test_logout_all_revokes_every_access_token_of_the_user(client, user):
    others = [login(client), login(client)]

    client.post(LOGOUT_ALL, headers=auth_header(user["token"]))

    for token in [user["token"], *(other["token"] for other in others)]:
        assert_error(me(client, token), 401, INVALID)


def test_logout_all_revokes_every_refresh_token_of_the_user(client, user):
    other = login(client)

    client.post(LOGOUT_ALL, headers=auth_header(other["token"]))

    for refresh_token in (user["refreshToken"], other["refreshToken"]):
        assert_error(refresh(client, refresh_token), 401, INVALID)


def test_logout_all_leaves_other_users_signed_in(client, user):
    bob = register(client, "bob")

    client.post(LOGOUT_ALL, headers=auth_header(user["token"]))

    assert accepted(client, bob["token"])


def test_login_after_logout_all_starts_a_working_session(client, user):
    client.post(LOGOUT_ALL, headers=auth_header(user["token"]))

    assert accepted(client, login(client)["token"])


# --- password change -----------------------------------------------------------------------------


def test_password_change_revokes_the_users_other_sessions(client, user):
    other = login(client)

    assert change_password(client, user["token"]).status_code == 200

    assert_error(me(client, other["token"]), 401, INVALID)
    assert_error(refresh(client, other["refreshToken"]), 401, INVALID)


def test_password_change_keeps_the_current_session(client, user):
    token = change_password(client, user["token"]).get_json()["user"]["token"]

    assert accepted(client, user["token"])
    assert accepted(client, token)
    assert accepted(client, refreshed(client, user["refreshToken"])["token"])


def test_put_answers_the_five_user_fields_with_a_token_of_the_same_session(client, user):
    body = change_password(client, user["token"]).get_json()["user"]

    assert list(body) == USER_FIELDS  # no refreshToken: the session's one stays valid
    assert payload(body["token"])["sid"] == payload(user["token"])["sid"]


def test_profile_change_without_a_password_keeps_other_sessions(client, user):
    other = login(client)

    client.put(ME, headers=auth_header(user["token"]), json={"user": {"bio": "tea"}})

    assert accepted(client, other["token"])


def test_failed_password_change_revokes_nothing(client, user):
    other = login(client)
    register(client, "bob")
    changes = {"password": "a brand new password", "username": "bob"}

    response = client.put(ME, headers=auth_header(user["token"]), json={"user": changes})

    assert_error(response, 409, {"username": ["has already been taken"]})
    assert accepted(client, other["token"])
    assert login(client)["token"]  # the old password still works too


def test_password_change_that_loses_a_username_race_revokes_nothing(client, user, monkeypatch):
    other = login(client)
    register(client, "bob")
    # As if bob took the name between the availability check and the commit.
    monkeypatch.setattr("app.auth.service._ensure_available", lambda *args, **kwargs: None)
    changes = {"password": "a brand new password", "username": "bob"}

    response = client.put(ME, headers=auth_header(user["token"]), json={"user": changes})

    assert_error(response, 409, {"username": ["has already been taken"]})
    assert accepted(client, other["token"])  # the revocation was rolled back with the rest


# --- expiry and deletion -------------------------------------------------------------------------


def _session_id(user):
    return payload(user["token"])["sid"]


def test_expired_refresh_token_is_401_has_expired(app, client, user):
    claims = payload(user["refreshToken"])
    with app.app_context():
        token = create_refresh_token(
            identity=claims["sub"],
            additional_claims={"sid": claims["sid"], "jti": claims["jti"]},
            expires_delta=timedelta(seconds=-1),
        )

    assert_error(refresh(client, token), 401, {"token": ["has expired"]})


def test_expired_session_refuses_its_unexpired_tokens(app, client, user):
    with app.app_context():
        db.session.execute(
            update(AuthSession)
            .where(AuthSession.id == _session_id(user))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    assert_error(me(client, user["token"]), 401, INVALID)
    assert_error(refresh(client, user["refreshToken"]), 401, INVALID)


def test_deleted_users_tokens_are_refused(app, client, user):
    with app.app_context():
        db.session.execute(delete(User).where(User.username == "alice"))
        db.session.commit()
        assert db.session.scalars(select(AuthSession)).all() == []  # ON DELETE CASCADE

    assert_error(me(client, user["token"]), 401, INVALID)
    assert_error(refresh(client, user["refreshToken"]), 401, INVALID)


# --- cost ----------------------------------------------------------------------------------------


def test_authenticated_request_loads_user_and_session_in_one_statement(app, client, user):
    with count_statements(app) as statements:
        assert me(client, user["token"]).status_code == 200

    assert statements.count == 1, statements.report()
    assert "auth_sessions" in statements.statements[0]
