"""Keyset pagination, opt-in: ``?before=<cursor>`` and the ``Link: rel="next"`` header
(docs/adr/0009). The RealWorld shape (``articles``, ``articlesCount``) and ``limit``/``offset``
are unchanged; the cursor names the position of the last article a client has seen."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from app.api.cursor import Cursor
from app.extensions import db
from app.models import Article, User
from tests.article_seed import seed, slugs
from tests.conftest import assert_error, auth_header, register
from tests.querycount import count_statements
from tests.security_apps import ALLOWED_ORIGIN, building_apps

URL = "/api/articles"
LINK = re.compile(r'^<(?P<target>[^>]+)>; rel="next"$')


def get(client: FlaskClient, url: str = URL, token: str | None = None, **params: Any) -> Any:
    headers = auth_header(token) if token else {}
    response = client.get(url, headers=headers, query_string=params or None)
    assert response.status_code == 200, response.data
    return response


def next_target(response: Any) -> str | None:
    """The ``Link: rel="next"`` target, or None when the response has none."""
    link = response.headers.get("Link")
    if link is None:
        return None
    match = LINK.match(link)
    assert match, link
    return match["target"]


def walk(client: FlaskClient, url: str, token: str | None = None) -> list[list[str]]:
    """Every page from ``url`` on, following the next links to the end."""
    pages, target = [], url
    while target is not None:
        response = get(client, target, token)
        pages.append(slugs(response.get_json()))
        target = next_target(response)
        assert len(pages) < 50, "the next links never end"
    return pages


@pytest.fixture
def twelve(app: Flask, client: FlaskClient, alice: dict[str, Any]) -> list[str]:
    register(client, "alice2")  # a second author whose articles share alice's timestamps
    return seed(app, "alice", 12)


def test_following_the_next_links_gives_every_article_once_newest_first(client, twelve):
    pages = walk(client, f"{URL}?limit=5")

    assert [len(page) for page in pages] == [5, 5, 2]
    assert [slug for page in pages for slug in page] == twelve


def test_a_cursor_page_has_the_realworld_shape_and_the_total_of_the_whole_list(client, twelve):
    first = get(client, limit=5)
    cursor = parse_qs(urlsplit(next_target(first)).query)["before"][0]

    body = get(client, limit=5, before=cursor).get_json()

    assert set(body) == {"articles", "articlesCount"}
    assert body["articlesCount"] == 12
    assert slugs(body) == twelve[5:10]


def test_the_next_link_keeps_filters_and_limit_and_drops_offset(client, twelve):
    target = next_target(get(client, limit=3, offset=2, author="alice"))
    path, query = urlsplit(target).path, parse_qs(urlsplit(target).query)

    assert path == URL
    assert query.keys() == {"limit", "author", "before"}
    assert query["limit"] == ["3"] and query["author"] == ["alice"]
    assert slugs(get(client, target).get_json()) == twelve[5:8]


def test_a_short_page_is_the_last_and_has_no_next_link(client, twelve):
    assert next_target(get(client, limit=20)) is None
    assert next_target(get(client, limit=5, offset=10)) is None


def test_offset_counts_from_the_cursor(client, twelve):
    cursor = parse_qs(urlsplit(next_target(get(client, limit=2))).query)["before"][0]

    assert slugs(get(client, limit=3, offset=4, before=cursor).get_json()) == twelve[6:9]


def test_articles_published_while_paging_do_not_shift_the_later_pages(app, client, alice, twelve):
    first = get(client, limit=5)
    for n in range(3):  # newer than everything: offset paging would repeat three articles
        response = client.post(
            URL,
            headers=auth_header(alice["token"]),
            json={"article": {"title": f"late {n}", "description": "d", "body": "b"}},
        )
        assert response.status_code == 201

    rest = walk(client, next_target(first))

    assert slugs(first.get_json()) + [slug for page in rest for slug in page] == twelve


def test_articles_with_the_same_timestamp_are_paged_by_id(app, client, twelve):
    moment = datetime(2025, 6, 1, tzinfo=UTC)  # older than the twelve: they come last
    with app.app_context():
        author = db.session.scalar(select(User.id).where(User.username == "alice2"))
        rows = [
            {"slug": f"tie-{n}", "title": "t", "description": "d", "body": "b",
             "author_id": author, "created_at": moment, "updated_at": moment}
            for n in range(7)
        ]  # fmt: skip
        db.session.execute(insert(Article), rows)
        db.session.commit()

    pages = walk(client, f"{URL}?limit=4&author=alice2")

    assert [len(page) for page in pages] == [4, 3]
    assert [slug for page in pages for slug in page] == [f"tie-{n}" for n in reversed(range(7))]


def test_the_cursor_works_with_the_tag_and_favorited_filters(client, alice, bob):
    created = []
    for n in range(7):
        article = {"title": f"t {n}", "description": "d", "body": "b", "tagList": ["x"]}
        response = client.post(URL, headers=auth_header(alice["token"]), json={"article": article})
        created.insert(0, response.get_json()["article"]["slug"])
        client.post(f"{URL}/{created[0]}/favorite", headers=auth_header(bob["token"]))

    by_tag = walk(client, f"{URL}?limit=3&tag=x")
    by_fan = walk(client, f"{URL}?limit=3&favorited=bob")

    assert [slug for page in by_tag for slug in page] == created
    assert [slug for page in by_fan for slug in page] == created
    assert [len(page) for page in by_tag] == [3, 3, 1]


def test_the_feed_pages_by_cursor_too(app, client, alice, bob):
    newest_first = seed(app, "alice", 6)
    client.post("/api/profiles/alice/follow", headers=auth_header(bob["token"]))

    pages = walk(client, f"{URL}/feed?limit=4", bob["token"])

    assert pages == [newest_first[:4], newest_first[4:]]


@pytest.mark.parametrize(
    "value",
    ["", "not a cursor", "!!!!", "MTIz", Cursor(datetime(2026, 1, 1, tzinfo=UTC), 1).encode() + "x",
     "OTk5OTk5OTk5OTk5OTk5OTk5OTkuMQ", "MS4yMTQ3NDgzNjQ4", "x" * 41],
)  # fmt: skip
def test_a_bad_cursor_is_a_422_naming_before(client, value):
    response = client.get(URL, query_string={"before": value})

    assert_error(response, 422, {"before": ["is not a valid cursor"]})


def test_a_cursor_round_trips_to_the_microsecond():
    moment = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)

    assert Cursor.decode(Cursor(moment, 42).encode()) == Cursor(moment, 42)


def test_the_openapi_document_declares_the_before_parameter(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/articles", "/api/articles/feed"):
        parameters = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert parameters["before"]["in"] == "query"
        assert parameters["before"]["schema"]["type"] == "string"
        assert 'rel="next"' in parameters["before"]["description"]


def test_browsers_may_read_the_next_link_across_origins(make_app, monkeypatch, twelve):
    app = building_apps(make_app, monkeypatch)("production", CORS_ORIGINS=ALLOWED_ORIGIN)

    response = app.test_client().get(URL, headers={"Origin": ALLOWED_ORIGIN})

    exposed = response.headers["Access-Control-Expose-Headers"].lower().split(", ")
    assert "link" in [name.strip() for name in exposed]


def test_a_cursor_page_runs_as_many_statements_as_a_first_page(app, client, twelve):
    first = get(client, limit=5)
    with count_statements(app) as plain:
        get(client, limit=5)
    with count_statements(app) as by_cursor:
        get(client, next_target(first))

    assert by_cursor.count == plain.count == 1, by_cursor.report()  # the page, with its total
