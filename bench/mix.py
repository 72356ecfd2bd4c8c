"""A mix of requests over the whole API, errors included, for the memory and instance runs
(bench/memory.py, bench/instances.py), sent by wrk through bench/memory.lua.

The mix reads lists, single articles, comments, tags, profiles, the current user and the feed
(anonymous and authenticated); favorites and takes back favorites (real writes); and answers
error paths, where leaks often hide: 404s (a missing article or profile, an unmatched path),
405, 422s (bad bodies and query strings), 401s (a forged token) and 429s (bad logins past the
login limit, which also spend the per-email budget).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.harness import ROOT

LUA = ROOT / "bench" / "memory.lua"


@dataclass
class MixRun:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _line(method: str, path: str, auth: str = "-", body: Any = None) -> str:
    text = f"{method}\t{path}\t{auth}"
    return text + ("\t" + json.dumps(body, separators=(",", ":")) if body is not None else "")


def build_mix(database_url: str, fan_ids: list[int]) -> list[str]:
    """The request lines (bench/memory.lua's format), about 1,200 of them in a fixed order.

    ``fan_ids`` are the users whose tokens the wrk threads send (one each): the articles they
    favorite are ones none of them has favorited, each taken back 32 favorites later, so the
    same article is never in flight twice and every request writes."""
    with psycopg.connect(database_url) as connection:
        connection.execute("SELECT setseed(0.42)")

        def column(query: str, params: tuple[Any, ...] = ()) -> list[Any]:
            return [row[0] for row in connection.execute(query, params)]  # type: ignore[arg-type]

        slugs = column("SELECT slug FROM articles ORDER BY random() LIMIT 200")
        users = column("SELECT username FROM users ORDER BY random() LIMIT 50")
        tags = column("SELECT name FROM tags ORDER BY name")
        unfavorited = column(
            "SELECT slug FROM articles a WHERE NOT EXISTS (SELECT 1 FROM favorites f"
            " WHERE f.article_id = a.id AND f.user_id = ANY(%s)) ORDER BY random() LIMIT 100",
            (fan_ids,),
        )
    lag = 32
    favorites: list[str] = []
    for i in range(len(unfavorited) + lag):
        if i < len(unfavorited):
            favorites.append(_line("POST", f"/api/articles/{unfavorited[i]}/favorite", "t"))
        if i >= lag:
            favorites.append(_line("DELETE", f"/api/articles/{unfavorited[i - lag]}/favorite", "t"))
    errors = [
        _line("GET", "/api/articles/no-such-article-{n}"),
        _line("GET", "/api/profiles/nobody-{n}"),
        _line("GET", "/no/such/path/{n}"),
        _line("DELETE", "/api/tags"),  # 405
        _line("GET", "/api/articles?limit=many"),  # 422
        _line("POST", "/api/articles", "t", {"article": {"title": ""}}),  # 422
        _line("PUT", "/api/user", "t", {"user": {"email": "not-an-email-{n}"}}),  # 422
        _line("POST", "/api/articles/{slug}/comments", "t", {"comment": {"body": ""}}),  # 422
        _line("GET", "/api/user", "x"),  # 401
        _line(
            "POST",
            "/api/users/login",
            "-",
            {"user": {"email": "x{n}@example.com", "password": "wrong"}},
        ),  # 401, 429
    ]
    mix: list[str] = []
    for n in range(len(favorites)):
        slug, user = slugs[n % len(slugs)], users[n % len(users)]
        mix += [
            _line("GET", f"/api/articles?limit=20&offset={(n % 25) * 20}"),
            _line("GET", f"/api/articles?tag={tags[n % len(tags)]}"),
            _line("GET", f"/api/articles?author={user}"),
            _line("GET", f"/api/articles/{slug}"),
            _line("GET", f"/api/articles/{slug}/comments"),
            _line("GET", "/api/tags"),
            _line("GET", f"/api/profiles/{user}"),
            _line("GET", "/api/user", "t"),
            _line("GET", "/api/articles/feed", "t"),
            _line("GET", "/api/articles?limit=10", "t"),
            _line("GET", f"/api/articles/{slug}", "t"),
            favorites[n],
            errors[n % len(errors)].replace("{n}", str(n)).replace("{slug}", slug),
        ]
    return mix


def fan_ids(database_url: str, threads: int) -> list[tuple[int, str]]:
    """(id, email) of ``threads`` seeded users, one per wrk thread."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT id, email FROM users ORDER BY id LIMIT %s", (threads,))
        return [(row[0], row[1]) for row in rows]


def run_mix(
    url: str,
    mix_file: Path,
    tokens: list[str],
    *,
    threads: int,
    connections: int,
    seconds: float,
    limit: int = 0,
    start: int = 0,
) -> MixRun:
    """One wrk run of the mix against ``url``: for ``seconds``, or until ``limit`` responses
    (then it idles until ``seconds`` are over: wrk has no request count of its own)."""
    env = os.environ | {
        "BENCH_REQUESTS": str(mix_file),
        "BENCH_TOKENS": ",".join(tokens),
        "BENCH_START": str(start),
        "BENCH_LIMIT": str(-(-limit // threads) if limit else 0),  # per thread, rounded up
    }
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(seconds)}s"]
    command += ["--timeout", "5s", "-s", str(LUA), url]
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed on the mix:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    statuses = {k: v for k, v in raw["statuses"].items() if v}
    return MixRun(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        socket_errors=sum(raw[k] for k in ("connect", "read", "write", "timeout")),
        statuses=statuses,
    )
