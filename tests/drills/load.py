"""The fault drill's closed-loop load: each thread, as its own user on its own keep-alive
connection, reads, favorites and unfavorites, and creates articles, one request after the
other, and records every request as a ``Sample`` with the phase it was sent in."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from tests.drills.rules import PROBE, Sample
from tests.http_load import Client, Reply

CLIENT_TIMEOUT = 10.0  # above the 5 s rule, so a slow answer is measured, not cut short
# The kinds of request each thread cycles through.
CYCLE = ("list", "favorite", "article", "create", "favorite", "list")


@dataclass(frozen=True)
class User:
    index: int
    username: str
    token: str


def envelope(body: Any) -> bool:
    """The contract's error shape: {"errors": {"<key>": ["<message>", ...]}}."""
    errors = body.get("errors") if isinstance(body, dict) else None
    return (
        isinstance(errors, dict)
        and bool(errors)
        and all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in errors.values())
    )


def timed(
    client: Client,
    phase: str,
    op: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    user: int = -1,
    target: str = "",
) -> tuple[Sample, Any]:
    """Send one request; the sample and the parsed JSON body (None if there is none)."""
    sent = time.monotonic()
    try:
        reply: Reply | None = client.request(method, path, body, headers)
    except Exception as error:  # no answer is an outcome too
        reply, failure = None, type(error).__name__
    latency = time.monotonic() - sent
    if reply is None:
        return Sample(
            phase, op, method, sent, latency, None, failure, user=user, target=target
        ), None
    try:
        parsed = json.loads(reply.body) if reply.body else None
    except ValueError:
        parsed = None
    sample = Sample(
        phase,
        op,
        method,
        sent,
        latency,
        reply.status,
        errors_envelope=envelope(parsed),
        retry_after=reply.headers.get("Retry-After"),
        ratelimit_headers="X-RateLimit-Limit" in reply.headers,
        user=user,
        target=target,
    )
    return sample, parsed


class DrillLoad:
    """``len(users)`` threads in a closed loop until ``stop()``; ``phase`` labels what they
    send from now on; ``pause()`` waits until none is sending (and drops their connections)."""

    def __init__(self, port: int, users: list[User], articles: list[str]) -> None:
        self.port, self.users, self.articles = port, users, articles
        self.phase = "setup"
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._busy = 0
        self._threads = [
            threading.Thread(target=self._run, args=(user,), daemon=True) for user in users
        ]

    def start(self) -> DrillLoad:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)

    def pause(self) -> None:
        with self._lock:
            self._running.clear()
        deadline = time.monotonic() + CLIENT_TIMEOUT + 5
        while self._busy and time.monotonic() < deadline:
            time.sleep(0.01)

    def resume(self, phase: str) -> None:
        self.phase = phase
        self._running.set()

    def of(self, phase: str) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if s.phase == phase]

    def _run(self, user: User) -> None:
        rng = random.Random(user.index)
        auth = {"Authorization": f"Token {user.token}"}
        believed: dict[str, bool] = {}  # favorite state after the last acknowledged action
        client = Client(
            self.port, tls=False, source=f"127.0.1.{user.index + 1}", timeout=CLIENT_TIMEOUT
        )
        step = 0
        while not self._stop.is_set():
            with self._lock:  # pause() clears under this lock: no request slips past it
                sending = self._running.is_set()
                self._busy += sending
            if not sending:
                client.close()  # a fresh connection after a pause: no keep-alive timing races
                self._running.wait()
                continue
            try:
                sample = self._one(client, user, auth, CYCLE[step % len(CYCLE)], rng, believed)
            finally:
                with self._lock:
                    self._busy -= 1
            step += 1
            with self._lock:
                self.samples.append(sample)
            if sample.status is None:
                time.sleep(0.05)  # a refused connection answers at once: do not spin
        client.close()

    def _one(
        self,
        client: Client,
        user: User,
        auth: dict[str, str],
        kind: str,
        rng: random.Random,
        believed: dict[str, bool],
    ) -> Sample:
        phase = self.phase
        if kind == "list":
            return timed(
                client, phase, "read", "GET", "/api/articles?limit=10", None, auth, user=user.index
            )[0]
        if kind == "article":
            slug = rng.choice(self.articles)
            return timed(
                client, phase, "read", "GET", f"/api/articles/{slug}", None, auth, user=user.index
            )[0]
        if kind == "create":
            title = f"drill {user.index} {uuid.uuid4().hex[:12]}"
            article = {"title": title, "description": "d", "body": "b", "tagList": ["drill"]}
            sample, body = timed(
                client,
                phase,
                "create",
                "POST",
                "/api/articles",
                {"article": article},
                auth,
                user=user.index,
            )
            slug = body["article"]["slug"] if sample.acknowledged and body else ""
            return replace(sample, target=slug)
        slug = rng.choice(self.articles)
        on = not believed.get(slug, False)
        op, method = ("favorite", "POST") if on else ("unfavorite", "DELETE")
        sample, _ = timed(
            client,
            phase,
            op,
            method,
            f"/api/articles/{slug}/favorite",
            None,
            auth,
            user=user.index,
            target=slug,
        )
        if sample.acknowledged:
            believed[slug] = on
        return sample


def probe_burst(port: int, phase: str, source: str, count: int) -> list[Sample]:
    """``count`` refreshes with an invalid token from ``source``, each on a new connection (so
    they spread over the workers): 401 until the per-address auth budget is spent, then 429."""
    samples = []
    for _ in range(count):
        client = Client(port, tls=False, source=source, timeout=CLIENT_TIMEOUT)
        try:
            headers = {"Authorization": "Token not-a-token"}
            samples.append(
                timed(client, phase, PROBE, "POST", "/api/auth/refresh", None, headers)[0]
            )
        finally:
            client.close()
    return samples
