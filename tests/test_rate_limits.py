"""Rate limits as clients meet them: whom each budget counts, which endpoints share one, the 429
and its headers, and what is never counted.

Every app here counts in the test Redis (``limited_app``: a key prefix per test), the backend
production uses, whose windows start at the first hit, so the small limits below are exact.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
import redis
from flask import Flask
from flask_jwt_extended import create_access_token

from app.security.ratelimit import get_limiter
from tests.conftest import auth_header, register

IP_A, IP_B = "203.0.113.10", "203.0.113.20"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def get(app: Flask, path: str = "/api/tags", ip: str = IP_A, **kwargs: Any) -> Any:
    return app.test_client().get(path, environ_base={"REMOTE_ADDR": ip}, **kwargs)


def post(app: Flask, path: str, ip: str = IP_A, **kwargs: Any) -> Any:
    return app.test_client().post(path, environ_base={"REMOTE_ADDR": ip}, **kwargs)


def login(app: Flask, email: str, ip: str = IP_A, **kwargs: Any) -> Any:
    body = {"user": {"email": email, "password": "wrong password"}}
    return post(app, "/api/users/login", ip=ip, json=body, **kwargs)


def statuses(responses: list[Any]) -> list[int]:
    return [response.status_code for response in responses]


def storage_keys(redis_url: str, prefix: str) -> list[str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    return sorted(client.scan_iter(match=f"*/{prefix}/*"))


# Whom a budget counts ---------------------------------------------------------------------------


def test_two_users_from_one_ip_have_separate_budgets(limited_app):
    app = limited_app(RATELIMIT_READ="2/minute")
    alice = register(app.test_client(), "alice")["token"]
    bob = register(app.test_client(), "bob")["token"]
    as_alice = [get(app, headers=auth_header(alice)) for _ in range(3)]
    assert statuses(as_alice) == [200, 200, 429]
    assert get(app, headers=auth_header(bob)).status_code == 200


def test_one_user_from_two_ips_shares_one_budget(limited_app):
    app = limited_app(RATELIMIT_READ="2/minute")
    token = register(app.test_client(), "alice")["token"]
    assert statuses([get(app, ip=IP_A, headers=auth_header(token)) for _ in range(2)]) == [200, 200]
    assert get(app, ip=IP_B, headers=auth_header(token, "Bearer")).status_code == 429


def test_anonymous_clients_are_counted_per_ip(limited_app):
    app = limited_app(RATELIMIT_READ="2/minute")
    assert statuses([get(app, ip=IP_A) for _ in range(3)]) == [200, 200, 429]
    assert get(app, ip=IP_B).status_code == 200


def test_ipv6_clients_are_counted_per_64_prefix(limited_app):
    # One subscriber gets a whole /64 and could rotate through it.
    app = limited_app(RATELIMIT_READ="2/minute")
    assert get(app, ip="2001:db8:0:1::1").status_code == 200
    assert get(app, ip="2001:db8:0:1::ffff").status_code == 200
    assert get(app, ip="2001:db8:0:1:abcd::2").status_code == 429
    assert get(app, ip="2001:db8:0:2::1").status_code == 200


def _expired(app: Flask) -> str:
    with app.app_context():
        return create_access_token(identity="1", expires_delta=timedelta(seconds=-60))


def _forged(_app: Flask) -> str:
    return pyjwt.encode(
        {"sub": "1", "type": "access"},
        "not-the-server-key-but-long-enough-for-hs256",
        algorithm="HS256",
    )


def _garbage(_app: Flask) -> str:
    return "not-a-jwt"


@pytest.mark.parametrize("make_token", [_expired, _forged, _garbage], ids=lambda f: f.__name__)
def test_bad_token_is_counted_per_ip_and_keeps_redis(
    limited_app, redis_url, rate_limit_prefix, caplog, make_token
):
    """A token the key function cannot use is the IP's budget; and raising instead would have
    switched Flask-Limiter's own fallback to memory for the whole process (LIBRARY_NOTES §1)."""
    app = limited_app(RATELIMIT_READ="2/minute")
    token = make_token(app)
    with caplog.at_level("WARNING"):
        responses = [get(app, headers=auth_header(token)) for _ in range(2)]
        responses.append(get(app))  # anonymous, same IP: the same budget
    assert statuses(responses) == [200, 200, 429]
    assert not get_limiter(app).storage.degraded
    assert any(f"/ip:{IP_A}/read/" in key for key in storage_keys(redis_url, rate_limit_prefix))
    assert [r for r in caplog.records if r.levelname in {"WARNING", "ERROR"}] == []


def test_a_token_does_not_buy_a_fresh_login_budget(limited_app):
    # Login is counted per IP even with a valid token: else every account is a new budget.
    app = limited_app(RATELIMIT_LOGIN="2/minute")
    token = register(app.test_client(), "alice")["token"]
    assert login(app, "a@example.com").status_code == 401
    assert login(app, "b@example.com", headers=auth_header(token)).status_code == 401
    assert login(app, "c@example.com", headers=auth_header(token)).status_code == 429


# Which endpoints share a budget -----------------------------------------------------------------


def test_default_limits_make_login_strict_and_reads_generous(limited_app):
    app = limited_app()  # the shipped defaults: login 10/minute per IP, reads 20/second
    logins = [login(app, f"user{n}@example.com") for n in range(11)]
    assert statuses(logins) == [401] * 10 + [429]
    assert statuses([get(app) for _ in range(15)]) == [200] * 15


def test_login_is_limited_per_email_across_ips(limited_app):
    app = limited_app(RATELIMIT_LOGIN_EMAIL="3/minute")
    attempts = [login(app, "victim@example.com", ip=f"198.51.100.{n}") for n in range(1, 5)]
    assert statuses(attempts) == [401, 401, 401, 429]
    assert login(app, "someone.else@example.com", ip="198.51.100.4").status_code == 401


def test_login_email_limit_ignores_case_and_surrounding_spaces(limited_app):
    app = limited_app(RATELIMIT_LOGIN_EMAIL="2/minute")
    assert login(app, "Victim@Example.com", ip=IP_A).status_code == 401
    assert login(app, " victim@example.com ", ip=IP_B).status_code in {401, 422}
    assert login(app, "VICTIM@EXAMPLE.COM", ip="198.51.100.9").status_code == 429


def test_login_email_is_neither_stored_nor_logged_in_clear(
    limited_app, redis_url, rate_limit_prefix, caplog
):
    app = limited_app(RATELIMIT_LOGIN_EMAIL="1/minute")
    with caplog.at_level("DEBUG"):
        assert statuses([login(app, "victim@example.com") for _ in range(2)]) == [401, 429]
    keys = storage_keys(redis_url, rate_limit_prefix)
    assert any("/email:" in key for key in keys)
    assert not any("victim" in key or "example.com" in key for key in keys)
    assert "victim" not in caplog.text


def test_registration_is_limited_per_ip(limited_app):
    app = limited_app(RATELIMIT_REGISTER="2/minute")

    def sign_up(name: str, ip: str) -> int:
        body = {"user": {"username": name, "email": f"{name}@example.com", "password": "x" * 12}}
        return post(app, "/api/users", ip=ip, json=body).status_code

    assert [sign_up(name, IP_A) for name in ("ann", "ben", "cat")] == [201, 201, 429]
    assert sign_up("dan", IP_B) == 201


@pytest.mark.parametrize("path", ["/api/auth/refresh", "/api/auth/logout", "/api/auth/logout-all"])
def test_session_endpoints_have_the_auth_limit(limited_app, path):
    app = limited_app(RATELIMIT_AUTH="2/minute", RATELIMIT_WRITE="100/minute")
    assert statuses([post(app, path) for _ in range(3)]) == [401, 401, 429]


def test_reads_share_one_budget_across_endpoints(limited_app):
    app = limited_app(RATELIMIT_READ="3/minute")
    paths = ["/api/tags", "/api/articles", "/api/tags", "/api/articles"]
    assert statuses([get(app, path) for path in paths]) == [200, 200, 200, 429]


def test_writes_have_a_budget_apart_from_reads(limited_app):
    app = limited_app(RATELIMIT_READ="1/minute", RATELIMIT_WRITE="1/minute")
    article = {"article": {"title": "t", "description": "d", "body": "b"}}
    assert statuses([get(app), get(app)]) == [200, 429]
    assert post(app, "/api/articles", json=article).status_code == 401  # counted, not refused
    assert post(app, "/api/articles", json=article).status_code == 429


def test_burst_limit_refuses_a_fourth_request_within_the_second(limited_app):
    app = limited_app(RATELIMIT_READ="3/second;5/minute")
    responses = [get(app) for _ in range(4)]
    assert statuses(responses) == [200, 200, 200, 429]
    assert responses[-1].headers["X-RateLimit-Limit"] == "3"


def test_sustained_limit_refuses_once_the_minute_is_spent(limited_app):
    app = limited_app(RATELIMIT_READ="3/second;5/minute")
    assert statuses([get(app) for _ in range(3)]) == [200, 200, 200]
    time.sleep(2.1)  # the burst window and the one it slides over have both passed
    responses = [get(app) for _ in range(3)]
    assert statuses(responses) == [200, 200, 429]
    assert responses[-1].headers["X-RateLimit-Limit"] == "5"


def test_apps_sharing_redis_share_the_budget(limited_app):
    # Two gunicorn workers (or hosts) are two apps on one Redis: one budget, not one each.
    worker_1 = limited_app(RATELIMIT_READ="3/minute")
    worker_2 = limited_app(RATELIMIT_READ="3/minute")
    assert statuses([get(worker_1), get(worker_2), get(worker_1)]) == [200, 200, 200]
    assert get(worker_2).status_code == 429


def test_each_app_uses_its_own_configured_limits(limited_app):
    strict = limited_app(RATELIMIT_READ="1/minute")
    generous = limited_app(RATELIMIT_READ="50/minute")  # built later: must not change `strict`
    assert statuses([get(strict), get(strict)]) == [200, 429]
    assert statuses([get(generous) for _ in range(3)]) == [200, 200, 200]


# The 429 and the headers ------------------------------------------------------------------------


def test_refusal_is_the_contracts_json_429_with_retry_after_and_limit_headers(limited_app):
    app = limited_app(RATELIMIT_READ="1/minute")
    get(app)
    response = get(app, headers={"X-Request-ID": "limited-1"})
    assert response.status_code == 429
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "errors": {"rate_limit": ["rate limit exceeded: 1 per 1 minute"]}
    }
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Limit"] == "1"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert time.time() < int(response.headers["X-RateLimit-Reset"]) <= time.time() + 61
    assert response.headers["X-Request-ID"] == "limited-1"


def test_allowed_response_has_limit_headers_but_no_retry_after(limited_app):
    app = limited_app(RATELIMIT_READ="5/minute")
    response = get(app)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == "5"
    assert response.headers["X-RateLimit-Remaining"] == "4"
    assert "Retry-After" not in response.headers


def test_browsers_may_read_the_rate_limit_headers_cross_origin(limited_app):
    app = limited_app(RATELIMIT_READ="5/minute", CORS_ORIGINS="https://app.example.com")
    response = get(app, headers={"Origin": "https://app.example.com"})
    exposed = {
        h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert {"retry-after", *(name.lower() for name in RATE_HEADERS)} <= exposed


# Never counted ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ping", "/health", "/health/detailed", "/api/openapi.json", "/api/docs"]
)
def test_health_and_docs_are_never_limited(limited_app, path):
    app = limited_app(RATELIMIT_READ="1/minute", RATELIMIT_DEFAULT="1/minute")
    responses = [get(app, path) for _ in range(4)]
    assert statuses(responses) == [200] * 4
    assert not any(name in responses[-1].headers for name in RATE_HEADERS)


def test_cors_preflight_is_not_counted(limited_app):
    app = limited_app(RATELIMIT_READ="1/minute", CORS_ORIGINS="https://app.example.com")
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}
    client = app.test_client()
    for _ in range(3):
        response = client.options("/api/tags", headers=preflight)
        assert response.status_code == 200
    assert statuses([get(app), get(app)]) == [200, 429]


def test_rate_limit_default_adds_a_limit_to_every_counted_route(limited_app):
    app = limited_app(RATELIMIT_DEFAULT="2/minute")
    assert statuses([get(app, "/api/tags"), get(app, "/api/tags"), get(app, "/api/tags")]) == [
        200,
        200,
        429,
    ]
    assert get(app, "/api/articles").status_code == 200  # per route, unlike the class budgets


def test_ratelimit_enabled_false_turns_every_limit_off(make_app):
    app = make_app(RATELIMIT_ENABLED="false", RATELIMIT_READ="1/minute", RATELIMIT_LOGIN="1/minute")
    responses = [get(app) for _ in range(5)] + [login(app, "x@example.com") for _ in range(3)]
    assert statuses(responses) == [200] * 5 + [401] * 3
    assert not any(name in responses[0].headers for name in RATE_HEADERS)
