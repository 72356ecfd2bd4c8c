"""Concurrent writes that move the same tag counters never deadlock, on PostgreSQL (on its own
database, whatever the suite's backend): every write locks the counters in one order
(``app/api/write.py``, "Lock order").

Each test pauses both requests right after they unlink their article's old tags, until both
are there or a few seconds have passed. Without one lock order each then holds the counter the
other needs next, and PostgreSQL aborts one of them (deadlock_timeout, 1 s); with it, the
second request waits for the first before unlinking anything, and the pause times out.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from app.extensions import db
from tests.conftest import auth_header, postgres_app, register

PAUSE = 3.0  # seconds a request waits at the pause for the other one


@pytest.fixture(scope="module")
def pg_app(postgres_server_url: str) -> Iterator[Flask]:
    with postgres_app(postgres_server_url) as app:
        yield app


def pausing_after_unlinking(app: Flask, parties: int) -> Callable[[], None]:
    """Hold each request that unlinks tags until ``parties`` of them did; returns the remover."""
    barrier = threading.Barrier(parties)

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM ARTICLE_TAGS"):
            # Broken: the other request is waiting for our locks; go on alone.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=PAUSE)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", hold)
    return lambda: event.remove(engine, "after_cursor_execute", hold)


def at_once(app: Flask, requests: list[Callable[[FlaskClient], Any]]) -> list[tuple[int, Any]]:
    def run(request: Callable[[FlaskClient], Any]) -> tuple[int, Any]:
        response = request(app.test_client())
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(run, requests))


def publish(client: FlaskClient, token: str, title: str, tags: list[str]) -> str:
    article = {"title": title, "description": "d", "body": "b", "tagList": tags}
    response = client.post("/api/articles", json={"article": article}, headers=auth_header(token))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["article"]["slug"])


def retag(slug: str, token: str, tags: list[str]) -> Callable[[FlaskClient], Any]:
    return lambda client: client.put(
        f"/api/articles/{slug}",
        json={"article": {"tagList": tags}},
        headers=auth_header(token),
    )


def articles_count(client: FlaskClient, **query: str) -> int:
    response = client.get("/api/articles", query_string=query)
    assert response.status_code == 200
    return int(response.get_json()["articlesCount"])


def test_two_updates_swapping_each_other_s_tags_both_succeed(pg_app):
    client = pg_app.test_client()
    alice, bob = register(client, "lock_alice"), register(client, "lock_bob")
    first = publish(client, alice["token"], "first", ["swap-x"])
    second = publish(client, bob["token"], "second", ["swap-y"])

    remove = pausing_after_unlinking(pg_app, 2)
    try:
        results = at_once(
            pg_app,
            [retag(first, alice["token"], ["swap-y"]), retag(second, bob["token"], ["swap-x"])],
        )
    finally:
        remove()

    assert [status for status, _ in results] == [200, 200], results
    assert [body["article"]["tagList"] for _, body in results] == [["swap-y"], ["swap-x"]]
    assert articles_count(client, tag="swap-x") == 1
    assert articles_count(client, tag="swap-y") == 1
