"""Rotating JWT_SECRET_KEY without logging anyone out: the new key signs, the previous key
(JWT_SECRET_KEY_PREVIOUS) still verifies the tokens it signed, chosen by their ``kid`` header.

Three apps share one database (so one sessions table), as the service's instances would before,
during and after a rotation from key A to key B:

    app_a     JWT_SECRET_KEY=A                              before the rotation
    rotated   JWT_SECRET_KEY=B, JWT_SECRET_KEY_PREVIOUS=A   the grace period
    app_b     JWT_SECRET_KEY=B                              after it
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import jwt as pyjwt
import pytest
from flask import Flask

from config import DEV_JWT_SECRET_KEY, ConfigError, get_config
from tests.conftest import assert_error, auth_header, register

ME = "/api/user"
REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"
INVALID = {"token": ["is invalid"]}

# 64 random bytes each (as ops/README.md generates them): long enough for HS512 too, so the
# algorithm test below is refused for its algorithm, not for a short key.
KEY_A, KEY_B, KEY_C = (secrets.token_urlsafe(64) for _ in range(3))


@pytest.fixture
def app_a(make_app: Callable[..., Flask]) -> Flask:
    return make_app(JWT_SECRET_KEY=KEY_A, JWT_SECRET_KEY_PREVIOUS="")


@pytest.fixture
def rotated(make_app: Callable[..., Flask]) -> Flask:
    return make_app(JWT_SECRET_KEY=KEY_B, JWT_SECRET_KEY_PREVIOUS=KEY_A)


@pytest.fixture
def app_b(make_app: Callable[..., Flask]) -> Flask:
    return make_app(JWT_SECRET_KEY=KEY_B, JWT_SECRET_KEY_PREVIOUS="")


@pytest.fixture
def session_a(app_a: Flask) -> dict[str, Any]:
    """alice registered before the rotation: her access and refresh tokens are signed with A."""
    return register(app_a.test_client())


def me(app: Flask, token: str) -> Any:
    return app.test_client().get(ME, headers=auth_header(token))


def refresh(app: Flask, refresh_token: str) -> Any:
    return app.test_client().post(REFRESH, headers=auth_header(refresh_token))


def kid(token: str) -> str:
    key_id: str = pyjwt.get_unverified_header(token)["kid"]
    return key_id


def claims(token: str) -> dict[str, Any]:
    """The claims of a token the service issued (unverified): a live session's."""
    payload: dict[str, Any] = pyjwt.decode(token, options={"verify_signature": False})
    return payload


def resign(token: str, key: str, headers: dict[str, Any] | None, algorithm: str = "HS256") -> str:
    """The same claims (the same live session) signed with ``key`` and ``headers``."""
    return pyjwt.encode(claims(token), key, algorithm=algorithm, headers=headers)


# --- during the grace period ----------------------------------------------------------------------


def test_access_token_of_the_previous_key_is_accepted_after_rotation(session_a, rotated):
    response = me(rotated, session_a["token"])

    assert response.status_code == 200, response.data
    assert response.get_json()["user"]["username"] == "alice"


def test_access_token_of_a_key_no_longer_configured_is_refused(session_a, app_b):
    assert_error(me(app_b, session_a["token"]), 401, INVALID)


def test_refresh_token_of_the_previous_key_is_exchanged_after_rotation(session_a, rotated):
    response = refresh(rotated, session_a["refreshToken"])

    assert response.status_code == 200, response.data
    assert response.get_json()["user"]["username"] == "alice"


def test_tokens_refreshed_after_rotation_verify_with_the_new_key_alone(session_a, rotated, app_b):
    tokens = refresh(rotated, session_a["refreshToken"]).get_json()["user"]

    assert me(app_b, tokens["token"]).status_code == 200
    assert refresh(app_b, tokens["refreshToken"]).status_code == 200


def test_new_tokens_are_signed_with_the_new_key_during_the_grace_period(rotated, app_b):
    token = register(rotated.test_client())["token"]

    assert pyjwt.decode(token, KEY_B, algorithms=["HS256"])["type"] == "access"
    assert me(app_b, token).status_code == 200


# --- the key id -----------------------------------------------------------------------------------


def test_tokens_name_their_key_by_an_id_that_is_not_the_key(session_a, rotated):
    token_b = register(rotated.test_client(), "bob")["token"]

    assert kid(session_a["token"]) == kid(session_a["refreshToken"])
    assert len(kid(session_a["token"])) == 16
    assert kid(session_a["token"]) != kid(token_b)
    for token, key in ((session_a["token"], KEY_A), (token_b, KEY_B)):
        assert key not in token


def test_forgery_control_same_claims_and_kid_signed_with_the_previous_key_is_accepted(
    session_a, rotated
):
    # The forgeries below differ from this token in their signing key only.
    token = resign(session_a["token"], KEY_A, {"kid": kid(session_a["token"])})

    assert me(rotated, token).status_code == 200


@pytest.mark.parametrize("claimed", ["previous", "current"])
def test_token_of_an_unrelated_key_claiming_a_configured_keys_id_is_refused(
    session_a, rotated, claimed
):
    current = register(rotated.test_client(), "bob")["token"]
    claimed_kid = kid(session_a["token"]) if claimed == "previous" else kid(current)
    token = resign(session_a["token"], KEY_C, {"kid": claimed_kid})

    assert_error(me(rotated, token), 401, INVALID)


@pytest.mark.parametrize("headers", [None, {"kid": "0123456789abcdef"}, {"kid": ""}])
def test_token_without_a_known_kid_is_checked_against_the_current_key_only(
    session_a, rotated, headers
):
    signed_with_current = resign(session_a["token"], KEY_B, headers)
    signed_with_previous = resign(session_a["token"], KEY_A, headers)

    assert me(rotated, signed_with_current).status_code == 200
    assert_error(me(rotated, signed_with_previous), 401, INVALID)


def test_previous_key_does_not_unpin_the_algorithm(session_a, rotated):
    token = resign(session_a["token"], KEY_A, {"kid": kid(session_a["token"])}, "HS512")

    assert_error(me(rotated, token), 401, INVALID)


def test_previous_key_does_not_admit_unsigned_tokens(session_a, rotated):
    token = pyjwt.encode(
        claims(session_a["token"]), None, algorithm="none", headers={"kid": kid(session_a["token"])}
    )

    assert_error(me(rotated, token), 401, INVALID)


# --- sessions still decide ------------------------------------------------------------------------


def test_logout_with_an_old_key_token_ends_its_session(session_a, rotated):
    response = rotated.test_client().post(LOGOUT, headers=auth_header(session_a["token"]))

    assert response.status_code == 204
    assert_error(me(rotated, session_a["token"]), 401, INVALID)
    assert_error(refresh(rotated, session_a["refreshToken"]), 401, INVALID)


def test_session_logged_out_before_rotation_stays_logged_out(session_a, app_a, rotated):
    app_a.test_client().post(LOGOUT, headers=auth_header(session_a["token"]))

    assert_error(me(rotated, session_a["token"]), 401, INVALID)
    assert_error(refresh(rotated, session_a["refreshToken"]), 401, INVALID)


def test_old_key_refresh_token_spent_at_rotation_cannot_be_replayed(session_a, rotated):
    refresh(rotated, session_a["refreshToken"])

    assert_error(refresh(rotated, session_a["refreshToken"]), 401, INVALID)


# --- configuration --------------------------------------------------------------------------------


def production(**env: str) -> dict[str, str]:
    """A complete production environment (explicit: nothing from the shell running pytest)."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": KEY_B,
        "DATABASE_URL": "postgresql://conduit@db.internal:5432/conduit",
        **env,
    }


def test_previous_key_is_empty_by_default():
    assert get_config("production", environ=production()).JWT_SECRET_KEY_PREVIOUS == ""


def test_production_accepts_a_random_previous_key():
    config = get_config("production", environ=production(JWT_SECRET_KEY_PREVIOUS=KEY_A))

    assert config.JWT_SECRET_KEY_PREVIOUS == KEY_A


WEAK = {
    "placeholder": "changeme",
    "blank": "   ",
    "dev-default": DEV_JWT_SECRET_KEY,
    "31-bytes": "x" * 31,
}


@pytest.mark.parametrize("weak", WEAK.values(), ids=WEAK.keys())
def test_production_refuses_a_weak_previous_key_naming_it(weak):
    with pytest.raises(ConfigError) as error:
        get_config("production", environ=production(JWT_SECRET_KEY_PREVIOUS=weak))

    message = str(error.value)
    assert message.split()[0] == "JWT_SECRET_KEY_PREVIOUS"
    if weak.strip():
        assert weak.strip() not in message  # the refused value itself is not echoed


def test_production_refuses_a_previous_key_equal_to_the_current_one():
    environ = production(JWT_SECRET_KEY_PREVIOUS=KEY_B)

    with pytest.raises(ConfigError, match=r"^JWT_SECRET_KEY_PREVIOUS equals JWT_SECRET_KEY"):
        get_config("production", environ=environ)
