"""A limited request costs one Redis script call, however many limits are stacked on it: the
first hit acquires every planned window and also reads the window the ``X-RateLimit-*``
headers come from (app/security/ratelimit_window.py), and what the headers say is what
``limits`` itself reads from Redis. A refused request spends nothing.

On a ``redis-server`` of the test's own, so its command statistics count this test alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask_jwt_extended import decode_token
from limits import parse
from limits.storage import RedisStorage
from redis._parsers import _HiredisParser

from app.security import ratelimit
from app.security.ratelimit_window import window_keys
from config import RATE_LIMIT_DEFAULTS
from tests.conftest import auth_header, register
from tests.redis_process import RedisServer

PREFIX = "roundtrips"


@pytest.fixture
def app_with(
    make_app: Callable[..., Flask], redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Flask]:
    """Build apps limited on the test's own redis-server; keywords set limits
    (``RATELIMIT_READ="3/second"``), every other limit is its default."""
    for name in [*RATE_LIMIT_DEFAULTS, "RATELIMIT_DEFAULT"]:
        monkeypatch.delenv(name, raising=False)  # the shell's own settings never leak in

    def build(**limits: str) -> Flask:
        return make_app(
            RATELIMIT_ENABLED="true",
            REDIS_URL=redis_server.url,
            RATELIMIT_KEY_PREFIX=PREFIX,
            **limits,
        )

    return build


@pytest.fixture
def app_on(app_with: Callable[..., Flask]) -> Flask:
    return app_with(RATELIMIT_READ="3/second;5/minute")  # a burst and a sustained limit


def current_windows(server: RedisServer, period: str = "") -> list[str]:
    """This test's current-window keys (not the "/-1" previous ones), of one period or all."""
    return [k for k in server.keys(f"*/{PREFIX}/*") if f"/{period}" in k and "/-1" not in k]


def script_calls(server: RedisServer) -> int:
    stats = server.client().info("commandstats")
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))


def get(app: Flask) -> Any:
    return app.test_client().get("/api/tags", environ_base={"REMOTE_ADDR": "203.0.113.9"})


def test_a_request_under_two_stacked_limits_makes_one_script_call(app_on, redis_server):
    get(app_on)  # loads the script
    before = script_calls(redis_server)

    assert get(app_on).status_code == 200

    assert script_calls(redis_server) - before == 1


def test_refused_request_also_makes_one_script_call(app_on, redis_server):
    for _ in range(3):
        get(app_on)
    before = script_calls(redis_server)

    refused = get(app_on)

    assert refused.status_code == 429
    assert script_calls(redis_server) - before == 1


def window_count(server: RedisServer, period: str) -> int:
    keys = current_windows(server, period)
    assert len(keys) == 1
    return int(server.client().get(keys[0]))


def test_a_refused_request_spends_nothing_from_the_limits_it_did_not_break(app_with, redis_server):
    # Flask-Limiter hits the second's window first
    app = app_with(RATELIMIT_READ="10/second;3/minute")
    for _ in range(3):
        assert get(app).status_code == 200
    for _ in range(2):
        assert get(app).status_code == 429  # the sustained limit (3/minute) is full

    assert window_count(redis_server, "minute") == 3
    assert window_count(redis_server, "second") == 3  # the refusals were not counted here


def test_a_login_under_its_ip_and_email_limits_makes_one_script_call(app_with, redis_server):
    app = app_with(RATELIMIT_LOGIN="10/minute;60/hour", RATELIMIT_LOGIN_EMAIL="5/minute;20/hour")
    client = app.test_client()
    body = {"user": {"email": "nobody@example.com", "password": "wrong-password"}}
    client.post("/api/users/login", json=body)  # loads the script
    before = script_calls(redis_server)

    assert client.post("/api/users/login", json=body).status_code == 401

    assert script_calls(redis_server) - before == 1
    assert len(current_windows(redis_server)) == 4


def test_a_route_limit_nobody_planned_gets_a_call_of_its_own(app_with, redis_server):
    app = app_with(RATELIMIT_READ="3/second;5/minute", RATELIMIT_DEFAULT="2/minute")
    get(app)
    before = script_calls(redis_server)

    assert get(app).status_code == 200
    assert script_calls(redis_server) - before == 2  # the class limits, then the route's
    assert get(app).status_code == 429  # the route limit (2/minute) still refuses


def test_remaining_counts_down_by_one_per_request(app_on):
    remaining = [int(get(app_on).headers["X-RateLimit-Remaining"]) for _ in range(3)]

    assert remaining == [2, 1, 0]


def test_headers_report_the_window_limits_itself_reads(app_on, redis_server):
    get(app_on)
    answer = get(app_on)

    storage = RedisStorage(redis_server.url)
    keys = current_windows(redis_server, "minute")
    assert len(keys) == 1
    key = keys[0].removeprefix(f"{RedisStorage.PREFIX}:").strip("{}")
    previous, _previous_ttl, current, current_ttl = storage.get_sliding_window(key, 60)
    assert (previous, current) == (0, 2)
    assert 60 < current_ttl <= 120  # a window written by the hit, not by this read
    assert answer.headers["X-RateLimit-Limit"] == "3"
    assert answer.headers["X-RateLimit-Remaining"] == "1"


def test_window_keys_are_the_keys_limits_writes(redis_server):
    storage = RedisStorage(redis_server.url)
    item = parse("5/minute")
    key = item.key_for("probe")

    storage.acquire_sliding_window_entry(key, item.amount, item.get_expiry())
    previous, current = window_keys(storage, key)

    assert redis_server.client().get(current) == "1"
    assert previous.startswith(current.rstrip("}"))


def test_the_token_is_decoded_once_for_all_stacked_limits(app_on, monkeypatch):
    client = app_on.test_client()
    token = register(client, "counted")["token"]
    decoded: list[str] = []

    def counting_decode(encoded: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(encoded)
        return decode_token(encoded, *args, **kwargs)

    monkeypatch.setattr(ratelimit, "decode_token", counting_decode)
    answer = client.get("/api/tags", headers=auth_header(token))

    assert answer.status_code == 200
    assert decoded == [token]  # two limits, one decode


def test_a_login_without_an_email_plans_and_counts_only_its_ip_limits(app_with, redis_server):
    app = app_with()

    answer = app.test_client().post("/api/users/login", json={"user": {"password": "x"}})

    assert answer.status_code == 422
    windows = current_windows(redis_server)
    assert len(windows) == 2
    assert all("/ip:" in k for k in windows)


def test_the_limiters_redis_replies_are_parsed_in_c(app_on):
    # hiredis (requirements.txt) is picked by redis-py when it is importable; without it every
    # reply of the per-request script call is parsed line by line in Python.
    redis_client = ratelimit.get_limiter(app_on).storage.primary.storage
    connection = redis_client.connection_pool.get_connection()
    try:
        assert isinstance(connection._parser, _HiredisParser)
    finally:
        redis_client.connection_pool.release(connection)
