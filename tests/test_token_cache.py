"""A token's signature is verified once per process (app/extensions.py); its expiry,
its session and the keys that verify it are still checked on every request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from flask import Flask
from flask_jwt_extended import create_access_token, jwt_manager

from app.extensions import VerifiedTokenCache, jwt
from tests.conftest import assert_error, auth_header, register

ME = "/api/user"
INVALID = {"token": ["is invalid"]}
EXPIRED = {"token": ["has expired"]}


@pytest.fixture
def full_decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The tokens flask-jwt-extended fully decoded (signature and claims), in order."""
    jwt.verified_tokens = VerifiedTokenCache()  # nothing another test verified
    decoded: list[str] = []
    real = jwt_manager._decode_jwt

    def counting(*args: Any, **kwargs: Any) -> Any:
        decoded.append(kwargs["encoded_token"])
        return real(*args, **kwargs)

    monkeypatch.setattr(jwt_manager, "_decode_jwt", counting)
    yield decoded


def me(app: Flask, token: str) -> Any:
    return app.test_client().get(ME, headers=auth_header(token))


def test_a_token_is_verified_once_for_all_the_requests_that_present_it(app, full_decodes):
    token = register(app.test_client())["token"]

    for _ in range(3):
        assert me(app, token).status_code == 200

    assert full_decodes == [token]


def test_the_rate_limiter_and_the_view_share_one_verification(limited_app, full_decodes):
    app = limited_app(RATELIMIT_READ="100/second;1000/minute")
    token = register(app.test_client())["token"]

    assert me(app, token).status_code == 200

    assert full_decodes == [token]


def test_a_cached_token_is_refused_once_its_session_is_logged_out(app, full_decodes):
    token = register(app.test_client())["token"]
    assert me(app, token).status_code == 200

    logout = app.test_client().post("/api/auth/logout", headers=auth_header(token))

    assert logout.status_code == 204
    assert_error(me(app, token), 401, INVALID)


def test_a_cached_token_is_refused_once_it_expires(app, full_decodes):
    token = register(app.test_client())["token"]
    claims = pyjwt.decode(token, options={"verify_signature": False})
    with app.app_context():
        short = create_access_token(
            identity=claims["sub"],
            additional_claims={"sid": claims["sid"]},
            expires_delta=timedelta(seconds=1),
        )
    assert me(app, short).status_code == 200

    time.sleep(1.2)

    assert_error(me(app, short), 401, EXPIRED)


def test_a_cached_token_is_refused_by_an_app_whose_keys_no_longer_verify_it(
    make_app: Callable[..., Flask], full_decodes
):
    old_key, new_key = "k" * 64, "n" * 64
    before = make_app(JWT_SECRET_KEY=old_key, JWT_SECRET_KEY_PREVIOUS="")
    after = make_app(JWT_SECRET_KEY=new_key, JWT_SECRET_KEY_PREVIOUS="")
    token = register(before.test_client())["token"]
    assert me(before, token).status_code == 200

    assert_error(me(after, token), 401, INVALID)


def test_a_token_with_a_bad_signature_is_never_kept(app, full_decodes):
    token = register(app.test_client())["token"]
    header, payload, _signature = token.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"

    for _ in range(2):
        assert_error(me(app, forged), 401, INVALID)

    assert len(jwt.verified_tokens) == 0
    assert full_decodes == [forged, forged]  # checked in full each time


# The cache on its own --------------------------------------------------------------------------


def test_claims_past_their_expiry_are_not_served():
    cache = VerifiedTokenCache()
    cache.put("t", {"sub": "1", "exp": time.time() - 1})

    assert cache.get("t", leeway=0, allow_expired=False) is None
    assert len(cache) == 0


def test_the_leeway_extends_the_expiry_as_pyjwt_does():
    cache = VerifiedTokenCache()
    cache.put("t", {"sub": "1", "exp": time.time() - 1})

    assert cache.get("t", leeway=10, allow_expired=False) == {
        "sub": "1",
        "exp": pytest.approx(time.time() - 1, abs=1),
    }


def test_claims_before_their_not_before_time_are_not_served():
    cache = VerifiedTokenCache()
    cache.put("t", {"sub": "1", "nbf": time.time() + 60})

    assert cache.get("t", leeway=0, allow_expired=False) is None


def test_expired_claims_are_served_when_the_caller_allows_expired_tokens():
    cache = VerifiedTokenCache()
    cache.put("t", {"sub": "1", "exp": time.time() - 1})

    assert cache.get("t", leeway=0, allow_expired=True) is not None


def test_what_the_cache_returns_is_a_copy_callers_may_change():
    cache = VerifiedTokenCache()
    cache.put("t", {"sub": "1"})

    cache.get("t", leeway=0, allow_expired=False)["sub"] = "2"  # type: ignore[index]

    assert cache.get("t", leeway=0, allow_expired=False) == {"sub": "1"}


def test_the_cache_is_bounded_and_drops_its_oldest_entry_first():
    cache = VerifiedTokenCache(max_entries=3)
    for name in ("a", "b", "c", "d"):
        cache.put(name, {"sub": name})

    assert len(cache) == 3
    assert cache.get("a", leeway=0, allow_expired=False) is None
    assert cache.get("d", leeway=0, allow_expired=False) == {"sub": "d"}
