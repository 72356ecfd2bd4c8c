"""What the benchmark measures: the routes, the requests wrk cycles through, and who sends them.

Each scenario is a list of "METHOD PATH" lines that bench/wrk.lua sends in turn, with one token
per wrk thread for authenticated routes (seeded users, logged in through the API), and the
reference route its req/s is compared with.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import psycopg

from bench.harness import Server, http

PASSWORD = "password123"  # noqa: S105 - the seeded development data's printed password


@dataclass
class Scenario:
    key: str
    label: str
    server: str  # "app" or "ref"
    requests: list[str]  # "METHOD PATH", sent in turn
    tokens: list[str] = field(default_factory=list)  # one per wrk thread; none: anonymous
    reference: str | None = None  # key of the reference scenario
    target: float | None = None  # minimum share of the reference's req/s


def references(rate_limited: bool = False) -> list[Scenario]:
    """The bare reference app's routes (bench/reference_app.py): the floors. With rate limits
    on, also ``SELECT 1`` plus one Redis round trip, the floor of a limited route, shown as a
    share of ``SELECT 1`` alone."""
    floors = [
        Scenario("json", "reference: bare JSON", "ref", ["GET /json"]),
        Scenario("select1", "reference: pooled SELECT 1", "ref", ["GET /select1"]),
    ]
    if rate_limited:
        label = "reference: pooled SELECT 1 + one Redis PING"
        floors.append(
            Scenario("select1_redis", label, "ref", ["GET /select1-redis"], [], "select1")
        )
    return floors


def choose_data(database_url: str, threads: int) -> dict[str, Any]:
    """Pick the seeded users and articles the requests use (the same for the same seed)."""
    with psycopg.connect(database_url) as connection:
        connection.execute("SELECT setseed(0.42)")
        reader_id, reader_email, follows = connection.execute(
            "SELECT u.id, u.email, count(*) FROM users u JOIN follows f ON f.follower_id = u.id"
            " GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1"
        ).fetchone()
        fans = connection.execute(
            "SELECT id, email FROM users WHERE id <> %s ORDER BY id LIMIT %s", (reader_id, threads)
        ).fetchall()

        def slugs(where: str, params: tuple[Any, ...] = (), limit: int = 1000) -> list[str]:
            query = f"SELECT slug FROM articles a WHERE {where} ORDER BY random() LIMIT {limit}"  # noqa: S608
            return [row[0] for row in connection.execute(query, params)]  # type: ignore[arg-type]

        def one(query: str) -> Any:
            return connection.execute(query).fetchone()

        # The filtered lists' subjects: the biggest of each, where a list costs the most.
        tag, tagged = one(
            "SELECT t.name, count(*) FROM article_tags a JOIN tags t ON t.id = a.tag_id"
            " GROUP BY t.name ORDER BY count(*) DESC, t.name LIMIT 1"
        )
        author, authored = one(
            "SELECT u.username, count(*) FROM articles a JOIN users u ON u.id = a.author_id"
            " GROUP BY u.username ORDER BY count(*) DESC, u.username LIMIT 1"
        )
        favoriter, favorited = one(
            "SELECT u.username, count(*) FROM favorites f JOIN users u ON u.id = f.user_id"
            " GROUP BY u.username ORDER BY count(*) DESC, u.username LIMIT 1"
        )
        feed_size = connection.execute(
            "SELECT count(*) FROM articles WHERE author_id IN"
            " (SELECT followee_id FROM follows WHERE follower_id = %s)",
            (reader_id,),
        ).fetchone()[0]
        return {
            "articles": one("SELECT count(*) FROM articles")[0],
            "tag": (tag, tagged),
            "author": (author, authored),
            "favoriter": (favoriter, favorited),
            "reader": reader_email,
            "reader_follows": follows,
            "feed_size": feed_size,
            "fans": [email for _id, email in fans],
            "slugs": slugs("true"),
            "commented": slugs("EXISTS (SELECT 1 FROM comments c WHERE c.article_id = a.id)"),
            "unfavorited": slugs(
                "NOT EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = a.id"
                " AND f.user_id = ANY(%s))",
                ([fan_id for fan_id, _email in fans],),
                limit=500,
            ),
        }


def add_last_page_cursor(server: Server, data: dict[str, Any]) -> None:
    """The ``before`` cursor of the last page (the article just before it), as the API hands it
    out: the ``Link: rel="next"`` header of a one-article page at that offset."""
    url = f"{server.url}/api/articles?limit=1&offset={max(0, data['articles'] - 21)}"
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
        link = response.headers["Link"]
    target = link[link.index("<") + 1 : link.index(">")]
    data["last_cursor"] = parse_qs(urlsplit(target).query)["before"][0]


def login(server: Server, email: str) -> str:
    """A token for ``email``, through the API itself (the seed prints no tokens)."""
    status, body = http(
        "POST",
        server.url + "/api/users/login",
        body={"user": {"email": email, "password": PASSWORD}},
    )
    if status != 200:
        raise SystemExit(f"login as {email} failed: {status} {body!r}")
    return body["user"]["token"]


def scenarios(
    data: dict[str, Any], reader: str, fans: list[str], connections: int
) -> list[Scenario]:
    """The app's routes, each with the reference route it is compared with and the share of
    that one's req/s it must reach (README.md's targets, those of issue 12)."""
    slugs, commented, unfavorited = data["slugs"], data["commented"], data["unfavorited"]
    # Each POST favorites an article the user has not favorited, and each DELETE takes back one
    # favorited ``lag`` requests earlier: real writes every time, in every round, and never the
    # same article in flight twice (a wrk thread has fewer connections than ``lag``).
    lag, favorites = max(32, connections), []
    for i in range(len(unfavorited) + lag):
        if i < len(unfavorited):
            favorites.append(f"POST /api/articles/{unfavorited[i]}/favorite")
        if i >= lag:
            favorites.append(f"DELETE /api/articles/{unfavorited[i - lag]}/favorite")

    def app(
        key: str, label: str, requests: list[str], tokens: list[str], target: float | None
    ) -> Scenario:
        reference = "json" if key == "ping" else "select1"
        return Scenario(key, label, "app", requests, tokens, reference, target)

    return [
        app("ping", "GET /ping (whole middleware stack)", ["GET /ping"], [], 0.70),
        app("list", "GET /api/articles (anonymous)", ["GET /api/articles"], [], 0.25),
        app(
            "list_auth", "GET /api/articles (authenticated)", ["GET /api/articles"], [reader], 0.25
        ),
        app("feed", "GET /api/articles/feed", ["GET /api/articles/feed"], [reader], 0.25),
        app(
            "article",
            "GET /api/articles/:slug",
            [f"GET /api/articles/{s}" for s in slugs],
            [],
            0.60,
        ),
        app(
            "comments",
            "GET /api/articles/:slug/comments",
            [f"GET /api/articles/{s}/comments" for s in commented],
            [],
            0.40,
        ),
        app("tags", "GET /api/tags", ["GET /api/tags"], [], 0.70),
        app("favorite", "POST, DELETE /api/articles/:slug/favorite", favorites, fans, 0.25),
        *list_scenarios(data, app),
    ]


# A deep page a reader may still click through to (page 501 of 20): at 1,000 articles, the last.
DEEP_PAGE_OFFSET = 10_000


def list_scenarios(data: dict[str, Any], app: Any) -> list[Scenario]:
    """The lists of issue 12 item 3: filtered by the most used tag, the most prolific author
    and the user with the most favorites; the deepest page by ``offset`` and by the cursor."""
    (tag, _), (author, _), (favoriter, _) = data["tag"], data["author"], data["favoriter"]
    deepest = max(0, data["articles"] - 20)
    return [
        app("tag", "GET /api/articles?tag= (most used)", [f"GET /api/articles?tag={quote(tag)}"],
            [], 0.15),
        app("author", "GET /api/articles?author= (most prolific)",
            [f"GET /api/articles?author={quote(author)}"], [], 0.15),
        app("favorited", "GET /api/articles?favorited= (most favorites)",
            [f"GET /api/articles?favorited={quote(favoriter)}"], [], 0.15),
        app("offset_10k", "GET /api/articles?offset= (page 501, or the last below it)",
            [f"GET /api/articles?offset={min(DEEP_PAGE_OFFSET, deepest)}"], [], None),
        app("deep_offset", "GET /api/articles?offset= (last page)",
            [f"GET /api/articles?offset={deepest}"], [], None),
        app("deep_cursor", "GET /api/articles?before= (last page)",
            [f"GET /api/articles?before={data.get('last_cursor', '')}"], [], 0.15),
    ]  # fmt: skip


def sanity_check(server: Server, scenario: Scenario) -> None:
    """Every request kind answers 200 before it is measured (a fast 404 is no result)."""
    token = scenario.tokens[0] if scenario.tokens else None
    for line in dict.fromkeys([scenario.requests[0], scenario.requests[-1]]):
        method, path = line.split(" ", 1)
        status, body = http(method, server.url + path, token)
        if status != 200:
            raise SystemExit(f"{scenario.label}: {line} answered {status}: {body!r}")
