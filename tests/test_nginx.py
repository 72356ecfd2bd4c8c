"""The deployment as it runs: a real nginx with ops/nginx.conf (rendered by ops/render_nginx.py)
terminating TLS in front of two gunicorn instances of the app in production mode, sharing one
fresh PostgreSQL database and Redis. Every call goes over real sockets.

Each test sends from its own loopback address (127.0.0.x), which is the client address nginx
sees and forwards, so rate-limit budgets and log lines never mix between tests.
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import (
    create_postgres_database,
    delete_rate_limit_keys,
    service_unavailable,
    wait_until,
)
from tests.dead_upstream import DeadUpstream, dead_upstream
from tests.http_load import Load, call
from tests.nginx_server import Nginx, nginx, nginx_binary, self_signed_certificate
from tests.upstream_pair import Pair, production_env

LOGIN_LIMIT = 4  # RATELIMIT_LOGIN per minute, small enough to reach in a test
TWO_MB = b"x" * (2 * 1024 * 1024)


# --- the deployment ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[tuple[str, str]]:
    """(Redis URL, this module's own RATELIMIT_KEY_PREFIX); its keys are deleted afterwards."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        service_unavailable(f"Redis is not reachable at TEST_REDIS_URL: {type(error).__name__}")
    prefix = f"test-nginx-{uuid.uuid4().hex[:12]}"
    yield url, prefix
    delete_rate_limit_keys(client, prefix)
    client.close()


@pytest.fixture(scope="module")
def instance_env(
    postgres_server_url: str, redis_prefix: tuple[str, str]
) -> Iterator[dict[str, str]]:
    """Production settings for both instances, on a fresh, migrated PostgreSQL database."""
    database_url, drop = create_postgres_database(postgres_server_url)
    redis_url, prefix = redis_prefix
    try:
        yield production_env(
            database_url,
            redis_url,
            RATELIMIT_KEY_PREFIX=prefix,
            # The load tests send hundreds of requests a second from a few addresses.
            RATELIMIT_READ="100000/minute",
            RATELIMIT_WRITE="100000/minute",
            RATELIMIT_LOGIN=f"{LOGIN_LIMIT}/minute",
        )
    finally:
        drop()


@pytest.fixture(scope="module")
def pair(instance_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    started = Pair(instance_env, tmp_path_factory.mktemp("gunicorn-logs"))
    try:
        started.ensure_running()
        yield started
    finally:
        started.stop()


@pytest.fixture(autouse=True)
def _both_instances_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that stops instances leaves them stopped if it fails midway: start them again."""
    yield
    if "pair" in request.fixturenames:
        request.getfixturevalue("pair").ensure_running()


@pytest.fixture(scope="module")
def nginx_bin() -> str:
    return nginx_binary()


@pytest.fixture(scope="module")
def certs(nginx_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return self_signed_certificate(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def proxy(nginx_bin: str, pair: Pair, certs: Path) -> Iterator[Nginx]:
    with nginx(nginx_bin, pair.addresses, certs) as running:
        yield running


def request_id() -> str:
    return f"nginx-test-{uuid.uuid4().hex[:16]}"


def register(port: int, source: str) -> str:
    """A new user, registered through nginx; its access token."""
    name = f"u{uuid.uuid4().hex[:10]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "correct horse battery"}
    reply = call(port, "POST", "/api/users", source=source, body={"user": user})
    assert reply.status == 201, reply.body
    return str(reply.json()["user"]["token"])


# --- HTTP and HTTPS ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_plain_http_api_requests_are_redirected_to_https_with_308(proxy: Nginx, method: str):
    reply = call(proxy.http_port, method, "/api/tags?page=2", tls=False, source="127.0.0.11")

    assert reply.status == 308  # keeps the method and body, unlike 301/302
    assert reply.headers["Location"] == "https://127.0.0.1/api/tags?page=2"


@pytest.mark.parametrize("path", ["/ping", "/health", "/health/detailed"])
def test_load_balancer_probes_answer_over_plain_http(proxy: Nginx, path: str):
    reply = call(proxy.http_port, "GET", path, tls=False, source="127.0.0.12")

    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == "application/json"


def test_https_responses_carry_hsts_and_plain_http_ones_do_not(proxy: Nginx):
    # The app sends HSTS only on requests it believes were HTTPS: X-Forwarded-Proto from nginx.
    secure = call(proxy.https_port, "GET", "/ping", source="127.0.0.13")
    plain = call(proxy.http_port, "GET", "/ping", tls=False, source="127.0.0.13")

    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert plain.status == 200
    assert "Strict-Transport-Security" not in plain.headers


# --- the client's address ---------------------------------------------------------------------


def test_the_app_logs_the_client_address_nginx_saw(proxy: Nginx, pair: Pair):
    sent = request_id()

    reply = call(
        proxy.https_port, "GET", "/api/tags", source="127.0.0.14", headers={"X-Request-ID": sent}
    )

    assert reply.status == 200
    assert reply.headers["X-Request-ID"] == sent
    logged = [line for lines in pair.logged({sent}) for line in lines]
    assert [(line["path"], line["remote_addr"]) for line in logged] == [("/api/tags", "127.0.0.14")]


def test_a_forged_x_forwarded_for_does_not_change_the_logged_address(proxy: Nginx, pair: Pair):
    sent = request_id()

    call(
        proxy.https_port,
        "GET",
        "/api/tags",
        source="127.0.0.15",
        headers={"X-Request-ID": sent, "X-Forwarded-For": "6.6.6.6"},
    )

    logged = [line for lines in pair.logged({sent}) for line in lines]
    assert [line["remote_addr"] for line in logged] == ["127.0.0.15"]


def test_a_forged_x_forwarded_for_buys_no_fresh_rate_limit_budget(proxy: Nginx):
    statuses = [
        call(
            proxy.https_port,
            "POST",
            "/api/users/login",
            source="127.0.0.16",
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
            body={"user": {"email": f"forger{n}@example.com", "password": "wrong password"}},
        ).status
        for n in range(LOGIN_LIMIT + 2)
    ]

    assert statuses == [401] * LOGIN_LIMIT + [429, 429]


# --- what nginx answers itself ----------------------------------------------------------------


def test_a_2mb_body_gets_the_contract_413_from_nginx(proxy: Nginx, pair: Pair):
    sent = request_id()

    reply = call(
        proxy.https_port,
        "POST",
        "/api/users",
        body=TWO_MB,
        source="127.0.0.17",
        headers={"X-Request-ID": sent},
    )

    assert reply.status == 413
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["X-Request-ID"] == sent
    # The very body the app gives for an oversized request: one shape, whoever refuses.
    from_app = call(pair.instances[0].port, "POST", "/api/users", body=TWO_MB, tls=False)
    assert (from_app.status, reply.json()) == (413, from_app.json())
    assert pair.logged({sent}) == [[], []]  # refused before any instance saw it


def test_json_is_gzipped_when_the_client_accepts_it(proxy: Nginx):
    plain = call(proxy.https_port, "GET", "/api/openapi.json", source="127.0.0.18")
    zipped = call(
        proxy.https_port,
        "GET",
        "/api/openapi.json",
        source="127.0.0.18",
        headers={"Accept-Encoding": "gzip"},
    )

    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.body) < len(plain.body) / 2
    assert json.loads(gzip.decompress(zipped.body)) == plain.json()


def test_both_instances_down_gives_the_contract_503(proxy: Nginx, pair: Pair):
    for instance in pair.instances:
        instance.terminate()
    assert [instance.wait_stopped() for instance in pair.instances] == [0, 0]

    api = call(proxy.https_port, "GET", "/api/tags", source="127.0.0.19")
    probe = call(proxy.http_port, "GET", "/health", tls=False, source="127.0.0.19")

    for reply in (api, probe):
        assert reply.status == 503
        assert reply.headers["Content-Type"] == "application/json"
        assert reply.headers["Retry-After"] == "5"
        assert reply.json() == {"errors": {"body": ["service temporarily unavailable"]}}


# --- two instances, one service ---------------------------------------------------------------


def test_a_logout_through_one_instance_is_refused_by_the_other(proxy: Nginx, pair: Pair):
    token = register(proxy.https_port, source="127.0.0.20")
    first, second = (instance.port for instance in pair.instances)
    auth = {"Authorization": f"Token {token}"}
    assert call(second, "GET", "/api/user", tls=False, headers=auth).status == 200

    logout = call(first, "POST", "/api/auth/logout", tls=False, headers=auth)

    assert logout.status == 204
    refused = call(second, "GET", "/api/user", tls=False, headers=auth)
    assert (refused.status, refused.json()) == (401, {"errors": {"token": ["is invalid"]}})


def test_rate_limits_are_shared_by_both_instances(proxy: Nginx, pair: Pair):
    sent = [request_id() for _ in range(2 * LOGIN_LIMIT + 2)]

    statuses = [
        call(
            proxy.https_port,
            "POST",
            "/api/users/login",
            source="127.0.0.21",
            headers={"X-Request-ID": rid},
            body={"user": {"email": f"shared{n}@example.com", "password": "wrong password"}},
        ).status
        for n, rid in enumerate(sent)
    ]

    # Separate budgets would have let up to twice the limit through.
    assert statuses == [401] * LOGIN_LIMIT + [429] * (LOGIN_LIMIT + 2)
    refused_by = [{line["status"] for line in lines} for lines in pair.logged(set(sent))]
    assert refused_by == [{401, 429}, {401, 429}]  # each instance counted the other's requests


# --- retries --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dying_first(nginx_bin: str, pair: Pair, certs: Path) -> Iterator[tuple[Nginx, DeadUpstream]]:
    """nginx (the same config) whose first choice dies with every request; instance A is
    its backup, so every request that nginx passes on ends up there."""
    with dead_upstream() as dead:
        upstreams = [dead.address, f"{pair.addresses[0]} backup"]
        with nginx(nginx_bin, upstreams, certs) as running:
            yield running, dead


def test_nginx_passes_a_get_to_the_other_instance_when_the_first_fails(dying_first, pair: Pair):
    proxy, dead = dying_first
    sent, received = request_id(), len(dead.received)

    reply = call(
        proxy.https_port, "GET", "/api/tags", source="127.0.0.22", headers={"X-Request-ID": sent}
    )

    assert reply.status == 200
    assert dead.received[received:] == ["GET /api/tags HTTP/1.1"]
    assert [len(lines) for lines in pair.logged({sent})] == [1, 0]


def test_nginx_never_replays_a_post_the_first_instance_received(
    dying_first, proxy: Nginx, pair: Pair
):
    dying, dead = dying_first
    # A valid token: had nginx passed the POST on, the instance would have created the article.
    token = register(proxy.https_port, source="127.0.0.23")
    sent, received = request_id(), len(dead.received)
    article = {"article": {"title": "once", "description": "d", "body": "b"}}

    reply = call(
        dying.https_port,
        "POST",
        "/api/articles",
        body=article,
        source="127.0.0.23",
        headers={"X-Request-ID": sent, "Authorization": f"Token {token}"},
    )

    assert reply.status == 503
    assert reply.json() == {"errors": {"body": ["service temporarily unavailable"]}}
    assert dead.received[received:] == ["POST /api/articles HTTP/1.1"]
    assert pair.logged({sent}) == [[], []]  # the instance behind never saw it


# --- stopping and restarting instances under load -----------------------------------------------

ARTICLE = {"article": {"title": "under load", "description": "d", "body": "b"}}
STALLED = "the load did not get 50 more answers in 30 s"


def start_load(proxy: Nginx, token: str, sources: str) -> Load:
    """Reads and writes (an article list, a new article) from four threads, until stopped;
    at least 50 requests have been answered when it returns."""
    load = Load(
        proxy.https_port,
        [("GET", "/api/articles?limit=5", None), ("POST", "/api/articles", ARTICLE)],
        headers={"Authorization": f"Token {token}"},
        sources=sources,
    ).start()
    wait_until(lambda: load.count() >= 50, STALLED, interval=0.02)
    return load


def errors_logged(proxy: Nginx) -> str:
    """nginx's error log lines, for a failure's message."""
    lines = proxy.error_log.read_text().splitlines()
    return "\n".join(line for line in lines if "[error]" in line)


def test_an_instance_stopped_during_a_burst_loses_no_request(proxy: Nginx, pair: Pair):
    load = start_load(proxy, register(proxy.https_port, "127.0.0.24"), "127.0.2.{}")
    stopped = pair.instances[0]

    stopped.terminate()
    exit_status = stopped.wait_stopped()  # after its in-flight requests completed
    answered = load.count()
    # the other one carries the load alone
    wait_until(lambda: load.count() >= answered + 50, STALLED, interval=0.02)
    outcomes = load.stop()

    assert exit_status == 0
    assert load.failures() == {}, (outcomes, errors_logged(proxy))
    assert outcomes[("POST", 201)] > 0 and outcomes[("GET", 200)] > 0


def test_a_rolling_restart_under_load_fails_no_request(proxy: Nginx, pair: Pair):
    load = start_load(proxy, register(proxy.https_port, "127.0.0.25"), "127.0.3.{}")

    for instance in pair.instances:  # one after the other, as a deploy does
        instance.terminate()
        assert instance.wait_stopped() == 0
        # The other one alone carries the load meanwhile: for the second, the one just restarted.
        answered = load.count()
        wait_until(lambda: load.count() >= answered + 50, STALLED, interval=0.02)  # noqa: B023
        instance.start()
        instance.wait_ready()
    outcomes = load.stop()

    assert load.failures() == {}, (outcomes, errors_logged(proxy))
