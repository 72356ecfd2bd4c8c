"""Concurrent writes that move the same tag counters never deadlock, on PostgreSQL (on its own
database, whatever the suite's backend): every write locks the counters in one order
(``app/api/write.py``, "Lock order").

Each test pauses both requests right after they unlink their article's old tags, until both
are there or a few seconds have passed. Without one lock order each then holds the counter the
other needs next, and PostgreSQL aborts one of them (deadlock_timeout, 1 s); with it, the
second request waits for the first before unlinking anything, and the pause times out. Taking
the article's row first must not hold up favorites of that article meanwhile.
"""

from __future__ import annotations

import contextlib
import threading
import time
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


@contextlib.contextmanager
def pausing_after_unlinking(app: Flask, barrier: threading.Barrier) -> Iterator[None]:
    """While open, hold each request that unlinks tags at ``barrier`` (``PAUSE`` at most)."""

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM ARTICLE_TAGS"):
            # Broken: the other request is waiting for our locks; go on alone.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=PAUSE)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", hold)


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

    with pausing_after_unlinking(pg_app, threading.Barrier(2)):
        results = at_once(
            pg_app,
            [retag(first, alice["token"], ["swap-y"]), retag(second, bob["token"], ["swap-x"])],
        )

    assert [status for status, _ in results] == [200, 200], results
    assert [body["article"]["tagList"] for _, body in results] == [["swap-y"], ["swap-x"]]
    assert articles_count(client, tag="swap-x") == 1
    assert articles_count(client, tag="swap-y") == 1


def test_a_favorite_is_not_held_up_by_an_update_of_the_same_article(pg_app):
    # The update locks the article's row FOR NO KEY UPDATE, which the favorite's foreign key
    # check (KEY SHARE) does not wait for; FOR UPDATE would hold the favorite until the commit.
    client = pg_app.test_client()
    erin, fan = register(client, "lock_erin"), register(client, "lock_fan")
    slug = publish(client, erin["token"], "busy", ["busy-old"])
    barrier = threading.Barrier(2)  # the paused update and this test
    with pausing_after_unlinking(pg_app, barrier), ThreadPoolExecutor(max_workers=2) as pool:
        update = pool.submit(retag(slug, erin["token"], ["busy-new"]), pg_app.test_client())
        while barrier.n_waiting == 0:  # the update holds its locks, paused
            assert not update.done(), update.result().get_json()
            time.sleep(0.01)
        favorite = pool.submit(
            lambda: pg_app.test_client().post(
                f"/api/articles/{slug}/favorite", headers=auth_header(fan["token"])
            )
        )
        favorited = favorite.result(timeout=PAUSE - 1)  # a TimeoutError: it waited
        barrier.wait(timeout=PAUSE)
        updated = update.result(timeout=10)

    assert favorited.status_code == 200
    assert favorited.get_json()["article"]["favoritesCount"] == 1
    assert updated.status_code == 200
    assert updated.get_json()["article"]["tagList"] == ["busy-new"]
