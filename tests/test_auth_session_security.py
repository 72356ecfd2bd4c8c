"""Sessions under attack and under failure: a reused refresh token ends every session of its user,
concurrent refreshes with one token succeed once, revocations outlive Redis and the service
itself (they are rows in the database), and no token or password is ever logged."""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import jwt as pyjwt
import pytest
import redis
from sqlalchemy import select

from app.extensions import db
from app.models import AuthSession
from tests.conftest import assert_error, auth_header, delete_rate_limit_keys, register

ME = "/api/user"
REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"
LOGOUT_ALL = "/api/auth/logout-all"
LOGIN = "/api/users/login"
PASSWORD = "plumsky vortexquill 4417zeta"  # distinctive words, to look for in the logs
INVALID = {"token": ["is invalid"]}


def login(client, password=PASSWORD):
    body = {"user": {"email": "alice@example.com", "password": password}}
    response = client.post(LOGIN, json=body)
    assert response.status_code == 200, response.data
    return response.get_json()["user"]


def refresh(client, refresh_token):
    return client.post(REFRESH, headers=auth_header(refresh_token))


def accepted(client, token):
    status = client.get(ME, headers=auth_header(token)).status_code
    assert status in (200, 401)
    return status == 200


def _claims(token):
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def revoked_reasons(app):
    with app.app_context():
        return sorted(db.session.scalars(select(AuthSession.revoked_reason)).all(), key=str)


# --- reuse of a rotated refresh token ------------------------------------------------------------


def test_reused_refresh_token_is_401_invalid(client, user):
    assert refresh(client, user["refreshToken"]).status_code == 200

    assert_error(refresh(client, user["refreshToken"]), 401, INVALID)


def test_reused_refresh_token_revokes_every_session_of_the_user(client, user):
    other = login(client, "correct horse battery")
    rotated = refresh(client, user["refreshToken"]).get_json()["user"]

    refresh(client, user["refreshToken"])  # the spent token comes back: stolen

    for token in (user["token"], rotated["token"], other["token"]):
        assert_error(client.get(ME, headers=auth_header(token)), 401, INVALID)
    for refresh_token in (rotated["refreshToken"], other["refreshToken"]):
        assert_error(refresh(client, refresh_token), 401, INVALID)


def test_reuse_records_why_the_sessions_ended(app, client, user):
    login(client, "correct horse battery")
    refresh(client, user["refreshToken"])

    refresh(client, user["refreshToken"])

    assert revoked_reasons(app) == ["refresh_reuse", "refresh_reuse"]


def test_reuse_leaves_other_users_signed_in(client, user):
    bob = register(client, "bob")
    refresh(client, user["refreshToken"])

    refresh(client, user["refreshToken"])

    assert accepted(client, bob["token"])


def test_refresh_token_of_an_ended_session_revokes_nothing_else(client, user):
    other = login(client, "correct horse battery")
    client.post(LOGOUT, headers=auth_header(user["token"]))

    assert_error(refresh(client, user["refreshToken"]), 401, INVALID)

    assert accepted(client, other["token"])  # a logged-out session's token is no theft signal


@pytest.mark.parametrize("jti", [None, 42], ids=["missing", "not-a-string"])
def test_refresh_token_without_a_usable_jti_is_401_invalid(app, client, user, jti):
    claims = dict(_claims(user["refreshToken"]), jti=jti)
    claims = {key: value for key, value in claims.items() if value is not None}
    token = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")

    assert_error(refresh(client, token), 401, INVALID)
    assert accepted(client, user["token"])  # a malformed token is no theft signal either


# --- concurrency ---------------------------------------------------------------------------------


def test_concurrent_refreshes_with_one_token_succeed_exactly_once(app, user):
    attempts = 8
    barrier = threading.Barrier(attempts)

    def attempt(_):
        client = app.test_client()  # one per thread: each request has its own session
        barrier.wait(timeout=10)
        return refresh(client, user["refreshToken"])

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        responses = list(pool.map(attempt, range(attempts)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [401] * (attempts - 1)
    for response in responses:
        if response.status_code == 401:
            assert response.get_json() == {"errors": INVALID}


def test_losing_a_concurrent_refresh_counts_as_reuse(app, user):
    barrier = threading.Barrier(2)

    def attempt(_):
        client = app.test_client()
        barrier.wait(timeout=10)
        return refresh(client, user["refreshToken"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(attempt, range(2)))

    (winner,) = [r.get_json()["user"] for r in responses if r.status_code == 200]
    client = app.test_client()
    assert not accepted(client, winner["token"])  # one token, two users: both are signed out
    assert_error(refresh(client, winner["refreshToken"]), 401, INVALID)


# --- durability ----------------------------------------------------------------------------------


def _end_by_logout(client, victim, _other):
    assert client.post(LOGOUT, headers=auth_header(victim["token"])).status_code == 204


def _end_by_logout_all(client, _victim, other):
    assert client.post(LOGOUT_ALL, headers=auth_header(other["token"])).status_code == 204


def _end_by_password_change(client, _victim, other):
    body = {"user": {"password": "a brand new passphrase 2"}}
    assert client.put(ME, json=body, headers=auth_header(other["token"])).status_code == 200


def _end_by_refresh_reuse(client, victim, _other):
    assert refresh(client, victim["refreshToken"]).status_code == 200
    # The spent refresh token comes back: every session of the user ends.
    assert_error(refresh(client, victim["refreshToken"]), 401, INVALID)


@pytest.mark.parametrize(
    "end_session",
    [_end_by_logout, _end_by_logout_all, _end_by_password_change, _end_by_refresh_reuse],
    ids=["logout", "logout-all", "password-change", "refresh-reuse"],
)
def test_ended_session_stays_ended_after_redis_loses_its_keys(
    limited_app, redis_url, rate_limit_prefix, end_session
):
    store = redis.Redis.from_url(redis_url)  # the test Redis db (TEST_REDIS_URL)
    others_key = f"not-ours-{rate_limit_prefix}"  # stands for whatever else lives in that db
    store.set(others_key, "keep", ex=60)
    client = limited_app().test_client()
    victim = register(client, password=PASSWORD)
    other = login(client)
    end_session(client, victim, other)

    # Everything this app kept in Redis (its limit counters) is lost, as in a Redis restart.
    assert delete_rate_limit_keys(store, rate_limit_prefix) > 0

    assert_error(client.get(ME, headers=auth_header(victim["token"])), 401, INVALID)
    assert_error(refresh(client, victim["refreshToken"]), 401, INVALID)
    assert store.get(others_key) == b"keep"  # nothing but this app's own keys was touched
    store.delete(others_key)


@pytest.mark.parametrize("ending", [LOGOUT, LOGOUT_ALL])
def test_revocation_survives_a_service_restart(make_app, ending):
    before = make_app().test_client()
    user = register(before, password=PASSWORD)
    other = login(before)
    assert before.post(ending, headers=auth_header(user["token"])).status_code == 204

    after = make_app().test_client()  # a new process on the same database

    assert_error(after.get(ME, headers=auth_header(user["token"])), 401, INVALID)
    assert_error(refresh(after, user["refreshToken"]), 401, INVALID)
    assert accepted(after, other["token"]) is (ending == LOGOUT)


def test_live_session_survives_a_service_restart(make_app):
    user = register(make_app().test_client(), password=PASSWORD)

    after = make_app().test_client()

    assert accepted(after, user["token"])
    assert refresh(after, user["refreshToken"]).status_code == 200


# --- logs ----------------------------------------------------------------------------------------


def test_no_token_or_password_reaches_the_logs_of_a_session_lifecycle(make_app, capfd):
    client = make_app(LOG_FORMAT="json", LOG_LEVEL="DEBUG").test_client()
    capfd.readouterr()
    user = register(client, password=PASSWORD)
    other = login(client)
    rotated = refresh(client, user["refreshToken"]).get_json()["user"]
    # Every word holds a letter past "f": a bare "9931" once matched a hex request id by chance.
    new_password = "gravelwing kappa 9931quill nottheplum"
    body = {"user": {"password": new_password}}
    assert client.put(ME, headers=auth_header(rotated["token"]), json=body).status_code == 200
    assert refresh(client, user["refreshToken"]).status_code == 401  # reuse: a warning is logged
    assert client.post(LOGOUT, headers=auth_header(other["token"])).status_code == 401

    logged = "".join(capfd.readouterr())

    assert "refresh token reuse detected" in logged
    secrets = [*PASSWORD.split(), *new_password.split()]
    for session in (user, other, rotated):
        for token in (session["token"], session["refreshToken"]):
            secrets += [token, token.rsplit(".", 1)[1], _claims(token)["jti"]]
        secrets.append(_claims(session["token"])["sid"])  # session ids stay out of the logs too
    assert [secret for secret in secrets if secret in logged] == []
