"""The fault drill (docs/DRILLS.md): gunicorn as production runs it, on a private PostgreSQL
cluster and a private Redis, under a closed-loop load, through Redis killed and back,
PostgreSQL down and back, a PostgreSQL restart under idle pools, and SIGTERM to the master;
then the database is checked against every acknowledged write.

    .venv/bin/python -m tests.drills.fault_drill      # exit 0: every rule held; 1: one broke

Bounded (about a minute), loopback only, every process stopped by its PID.
"""

from __future__ import annotations

import secrets
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tests.drills import rules
from tests.drills.load import DrillLoad, User, probe_burst, timed
from tests.drills.report import PhaseResult, error_lines, storage_lines, summary, table
from tests.drills.rules import Sample, Violation
from tests.drills.stack import AUTH_BUDGET, MissingTool, Stack, running_stack
from tests.http_load import Client

LOAD_USERS = 6
SEED_ARTICLES = 4
PHASE_SECONDS = {
    "baseline": 3.0,
    "redis_down": 4.0,
    "pg_down": 4.0,
    "pg_back": 4.0,
    "pg_stale": 3.0,
}
REDIS_RECOVERY_LIMIT = 10.0  # the limiter re-probes Redis 1, 3, 7 s after it failed
PROBE_REQUESTS = 30  # three auth budgets: per-process counting in 2 workers lets up to 20 by


def register(port: int, name: str, source: str, phase: str = "setup") -> tuple[Sample, str]:
    """One registration from ``source`` (the per-address budget is 5 a minute); the sample and
    the access token ("" if refused)."""
    client = Client(port, tls=False, source=source, timeout=30)
    user = {"username": name, "email": f"{name}@drill.example", "password": secrets.token_hex(12)}
    try:
        sample, body = timed(
            client, phase, "register", "POST", "/api/users", {"user": user}, target=name
        )
    finally:
        client.close()
    return sample, body["user"]["token"] if sample.acknowledged and body else ""


def setup(port: int) -> tuple[list[User], list[str], list[Sample]]:
    """The load's users, an author and the articles the load favorites."""
    names = [f"drill{n}_{secrets.token_hex(3)}" for n in range(LOAD_USERS + 1)]
    with ThreadPoolExecutor(max_workers=LOAD_USERS + 1) as pool:
        done = list(
            pool.map(lambda n: register(port, names[n], f"127.0.2.{n + 1}"), range(len(names)))
        )
    if not all(token for _, token in done):
        raise RuntimeError(f"setup: registration failed: {[s.outcome for s, _ in done]}")
    users = [User(n, names[n], token) for n, (_, token) in enumerate(done)]
    author, slugs = users[-1], []
    client = Client(port, tls=False, timeout=30)
    for n in range(SEED_ARTICLES):
        article = {"title": f"seed {n} {secrets.token_hex(4)}", "description": "d", "body": "b"}
        auth = {"Authorization": f"Token {author.token}"}
        sample, body = timed(
            client, "setup", "create", "POST", "/api/articles", {"article": article}, auth
        )
        if not sample.acknowledged:
            raise RuntimeError(f"setup: creating an article failed: {sample.outcome}")
        slugs.append(body["article"]["slug"])
    client.close()
    return users[:-1], slugs, [s for s, _ in done]


def _for(seconds: float, since: float) -> None:
    time.sleep(max(0.0, seconds - (time.monotonic() - since)))


class Drill:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.results: list[PhaseResult] = []
        self.extra: list[Sample] = []  # requests sent outside the load (setup, probes, SIGTERM)
        self.served_counts: dict[str, int] = {}
        self.row_counts: dict[str, int] = {}

    def run(self) -> list[PhaseResult]:
        users, self.articles, registered = setup(self.stack.port)
        self.extra += registered
        self.load = DrillLoad(self.stack.port, users, self.articles)
        self.load.phase = "baseline"
        self.load.start()
        try:
            self.phase("baseline", "load only", self.baseline)
            self.phase("redis_down", "redis-server SIGKILLed", self.redis_down)
            self.phase("redis_back", "redis-server started again, same port", self.redis_back)
            self.phase(
                "pg_down", "PostgreSQL stopped (fast), started again", self.pg_down, outage=True
            )
            self.phase("pg_back", "PostgreSQL accepting again (0 s grace)", self.pg_back)
            self.load.pause()  # before the label: no request between the stop and the start
            self.phase(
                "pg_stale",
                "PostgreSQL restarted while idle: every pooled connection stale",
                self.pg_stale,
            )
            self.check_counts()
            self.phase("sigterm", "SIGTERM to the gunicorn master under load", self.sigterm)
        finally:
            self.load.stop()
        self.results.append(self.after())
        return self.results

    def phase(
        self, name: str, what: str, body: Callable[[PhaseResult], None], outage: bool = False
    ) -> None:
        result = PhaseResult(name, what, [], outage=outage)
        self.load.phase = name
        started = time.monotonic()
        body(result)
        result.seconds = time.monotonic() - started
        result.samples = self.load.of(name) + [s for s in self.extra if s.phase == name]
        result.rules.append(f"none slower than {rules.SLOW:g} s")
        result.violations += rules.not_slow(name, result.judged)
        self.results.append(result)

    def baseline(self, result: PhaseResult) -> None:
        _for(PHASE_SECONDS["baseline"], time.monotonic())
        result.rules.append("0 non-429 errors")
        result.violations += rules.no_errors("baseline", self.load.of("baseline"))

    def redis_down(self, result: PhaseResult) -> None:
        started = time.monotonic()
        self.stack.redis.kill()
        time.sleep(1.0)  # every worker meets the dead Redis and switches to memory
        probe = probe_burst(self.stack.port, "redis_down", "127.0.3.1", PROBE_REQUESTS)
        self.extra += probe
        result.facts.append(
            f"fallback gauge {self.stack.fallback_gauge()} (1: a worker counts in memory)"
        )
        refused = sum(1 for s in probe if s.status == 429)
        result.facts.append(
            f"probe: {refused} of {len(probe)} refused with 429 (budget {AUTH_BUDGET} per process)"
        )
        _for(PHASE_SECONDS["redis_down"], started)
        load = self.load.of("redis_down")
        result.rules += [
            "0 non-429 errors",
            "limits go on per process: the probe gets 429, answers carry X-RateLimit",
        ]
        result.violations += rules.no_errors("redis_down", load + probe)
        result.violations += rules.limited_per_process("redis_down", probe, load)

    def redis_back(self, result: PhaseResult) -> None:
        self.stack.redis.start()
        back = time.monotonic()
        recovered, keys, gauge = None, 0, None
        while time.monotonic() - back < REDIS_RECOVERY_LIMIT + 1:
            keys, gauge = len(self.stack.limiter_keys()), self.stack.fallback_gauge()
            if keys and gauge == 0:
                recovered = time.monotonic() - back
                break
            time.sleep(0.2)
        probe = (
            probe_burst(self.stack.port, "redis_back", "127.0.3.2", PROBE_REQUESTS)
            if recovered
            else []
        )
        self.extra += probe
        passed = sum(1 for s in probe if s.status != 429)
        result.facts.append(
            f"limits back in Redis after {recovered:.1f} s"
            if recovered
            else f"limits never back in Redis: last seen {keys} keys, fallback gauge {gauge}"
        )
        result.facts.append(
            f"{len(self.stack.limiter_keys())} limiter keys in Redis; probe: {passed} let through"
        )
        result.rules += [
            "0 non-429 errors",
            f"limits counted in Redis again within {REDIS_RECOVERY_LIMIT:g} s, one shared budget",
        ]
        result.violations += rules.no_errors("redis_back", self.load.of("redis_back") + probe)
        result.violations += rules.counted_in_redis(
            "redis_back", recovered, REDIS_RECOVERY_LIMIT, probe, AUTH_BUDGET
        )

    def pg_down(self, result: PhaseResult) -> None:
        started = time.monotonic()
        self.stack.cluster.stop()
        stopped = time.monotonic()
        _for(PHASE_SECONDS["pg_down"], stopped)
        self.stack.cluster.start()
        down, stopping = time.monotonic() - stopped, stopped - started
        result.facts.append(
            f"PostgreSQL down {down:.1f} s (its fast shutdown took {stopping:.2f} s)"
        )
        result.rules.append(
            "every answer 2xx, 429 or the contract's JSON 503 with Retry-After; no connection error"
        )
        result.violations += rules.outage_answers("pg_down", self.load.of("pg_down"))

    def pg_back(self, result: PhaseResult) -> None:
        _for(PHASE_SECONDS["pg_back"], time.monotonic())
        result.rules.append("0 non-429 errors from the first request on")
        result.violations += rules.no_errors("pg_back", self.load.of("pg_back"))

    def pg_stale(self, result: PhaseResult) -> None:
        self.stack.cluster.stop()  # the load is paused: every pooled connection goes stale
        self.stack.cluster.start()
        started = time.monotonic()
        self.load.resume("pg_stale")
        _for(PHASE_SECONDS["pg_stale"], started)
        result.facts.append("load paused across the restart, resumed on fresh client connections")
        result.rules.append("0 non-429 errors on pools whose connections all went stale")
        result.violations += rules.no_errors("pg_stale", self.load.of("pg_stale"))

    def check_counts(self) -> None:
        """favoritesCount as served, against the rows, while nothing writes."""
        self.load.pause()
        client = Client(self.stack.port, tls=False, timeout=10)
        for slug in self.articles:
            reply = client.request("GET", f"/api/articles/{slug}")
            self.served_counts[slug] = (
                reply.json()["article"]["favoritesCount"] if reply.status == 200 else -1
            )
        client.close()
        rows = self.stack.sql(
            "SELECT a.slug, count(f.user_id) FROM articles a"
            " LEFT JOIN favorites f ON f.article_id = a.id GROUP BY a.slug"
        )
        self.row_counts = {slug: n for slug, n in rows if slug in self.served_counts}
        self.load.resume("sigterm")

    def sigterm(self, result: PhaseResult) -> None:
        time.sleep(1.0)
        # Registrations hash a password (~0.1-0.5 s): surely in flight when the signal lands.
        slow: list[Sample] = []
        senders = [threading.Thread(target=self._late_registration, args=(n, slow)) for n in (1, 2)]
        for sender in senders:
            sender.start()
        time.sleep(0.05)
        signal_at = time.monotonic()
        self.stack.gunicorn.terminate()
        code = self.stack.gunicorn.wait_stopped(timeout=35)
        for sender in senders:
            sender.join(timeout=35)
        self.extra += slow
        samples = self.load.of("sigterm") + slow
        in_flight = sum(1 for s in samples if s.sent < signal_at < s.sent + s.latency)
        before = sum(1 for s in samples if s.sent < signal_at)
        result.cutoff = signal_at
        result.facts.append(f"{in_flight} in flight at the signal, {before} sent before it")
        result.facts.append(f"master exit status {code}")
        result.rules += [
            "every request sent before the signal completes (2xx/429)",
            "the master exits 0",
        ]
        result.violations += rules.in_flight_completed("sigterm", samples, signal_at)
        if code != 0:
            result.violations.append(
                Violation("sigterm", "the master exits 0", f"exit status {code}")
            )

    def _late_registration(self, n: int, into: list[Sample]) -> None:
        name, source = f"late{n}_{secrets.token_hex(3)}", f"127.0.2.{30 + n}"
        into.append(register(self.stack.port, name, source, "sigterm")[0])

    def after(self) -> PhaseResult:
        """What the database holds against what the service acknowledged."""
        everything = self.load.samples + self.extra
        result = PhaseResult("after", "the database against the acknowledged writes", [])
        created = [s.target for s in everything if s.op == "create" and s.acknowledged and s.target]
        stored = {slug for (slug,) in self.stack.sql("SELECT slug FROM articles")}
        result.violations += rules.lost_writes(created, stored)
        registered = [s.target for s in everything if s.op == "register" and s.acknowledged]
        names = {name for (name,) in self.stack.sql("SELECT username FROM users")}
        result.violations += rules.lost_writes(registered, names, "user")
        ids = dict(self.stack.sql("SELECT id, username FROM users"))
        index = {user.username: user.index for user in self.load.users}
        favorites = {
            (index[ids[user_id]], slug)
            for user_id, slug in self.stack.sql(
                "SELECT f.user_id, a.slug FROM favorites f JOIN articles a ON a.id = f.article_id"
            )
            if ids[user_id] in index
        }
        expected, unsure = rules.expected_favorites(everything)
        result.violations += rules.favorite_mismatches(expected, favorites)
        result.violations += rules.count_mismatches(self.served_counts, self.row_counts)
        result.facts += [
            f"{len(created)} acknowledged creates, {len(registered)} registrations: all checked",
            f"{len(expected)} (user, article) favorite states checked, {unsure} undecidable",
            f"favoritesCount served {_counts(self.served_counts)}, rows {_counts(self.row_counts)}",
        ]
        result.rules += [
            "every acknowledged create and registration is in the database",
            "every favorite state is that of its last acknowledged action",
            "every favoritesCount served equals count(*) of its favorite rows",
        ]
        return result


def _counts(by_slug: dict[str, int]) -> str:
    return ", ".join(str(by_slug.get(slug)) for slug in sorted(by_slug))


def main() -> int:
    started = time.monotonic()
    # A CI cancel (SIGTERM) unwinds like an error, so every process is still stopped by PID.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    log = ""
    try:
        with running_stack() as stack:
            try:
                results = Drill(stack).run()
            finally:
                log = stack.log.read_text(errors="replace")
    except MissingTool as error:
        print(f"fault drill: FAIL: cannot run: {error}", file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        print("\ngunicorn's ERROR lines:\n" + ("\n".join(error_lines(log)) or "none"))
        print("\nfault drill: FAIL: the drill did not complete")
        return 1
    for result in results:
        print(table(result))
    print("-" * 100)
    print(summary(results))
    failed = [v for r in results for v in r.violations]
    if failed:
        print("\nviolations:")
        print("\n".join(f"  {v.phase}: {v.rule}: {v.detail}" for v in failed))
        print("\nthe rate-limit storage's lines (the workers' switches to memory and back):")
        print("\n".join(storage_lines(log)) or "none")
        print("\ngunicorn's ERROR lines (503s while PostgreSQL is down are expected):")
        print("\n".join(error_lines(log)) or "none")
    verdict, seconds = "FAIL" if failed else "PASS", time.monotonic() - started
    print(f"\nfault drill: {verdict} ({len(failed)} violations) in {seconds:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
