"""The fault drill's verdicts: pure functions from recorded requests (and what the database
holds afterwards) to violations. No processes here, so tests/test_drill_rules.py can feed them
samples that break each rule and check that every one is reported."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SLOW = 5.0  # seconds: no answer may take longer, in any phase (the bound for the outage)
PROBE = "probe"  # the rate-limit probe: an invalid refresh token, answered 401 until limited


@dataclass(frozen=True)
class Sample:
    """One request the drill sent and what came back."""

    phase: str
    op: str  # read, favorite, unfavorite, create, register, probe
    method: str
    sent: float  # time.monotonic() just before the request was written
    latency: float  # seconds until the whole answer was read (or the client gave up)
    status: int | None  # None: no HTTP answer (refused, reset, client timeout)
    error: str = ""  # the client's exception type when status is None
    errors_envelope: bool = False  # JSON {"errors": {"<key>": ["<message>", ...]}}
    retry_after: str | None = None
    ratelimit_headers: bool = False  # X-RateLimit-Limit present
    user: int = -1  # which drill user sent it
    target: str = ""  # the article slug (favorites, creates) or username (register)

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def outcome(self) -> str:
        return str(self.status) if self.status is not None else self.error or "no answer"


@dataclass(frozen=True)
class Violation:
    phase: str
    rule: str
    detail: str


def contract_503(sample: Sample) -> bool:
    """The contract's answer while the database is unavailable: a JSON 503 in the error
    envelope with a Retry-After of whole seconds."""
    retry = (sample.retry_after or "").strip()
    return sample.status == 503 and sample.errors_envelope and retry.isdigit() and int(retry) > 0


def is_error(sample: Sample, *, outage: bool = False) -> bool:
    """Not an answer the phase allows: a 2xx and a 429 always are, the probe's 401 too, and
    during a database outage the contract's 503."""
    if sample.acknowledged or sample.status == 429:
        return False
    if sample.op == PROBE and sample.status == 401:
        return False
    return not (outage and contract_503(sample))


def _grouped(phase: str, rule: str, samples: Iterable[Sample]) -> list[Violation]:
    """One violation per (request kind, outcome), with its count: readable, never thousands."""
    kinds = Counter(f"{s.method} {s.op} -> {s.outcome}" for s in samples)
    return [Violation(phase, rule, f"{n} x {kind}") for kind, n in sorted(kinds.items())]


def no_errors(phase: str, samples: list[Sample]) -> list[Violation]:
    """Every answer is a 2xx or a 429 (the probe's 401 aside): no 5xx, no connection error."""
    return _grouped(phase, "0 non-429 errors", [s for s in samples if is_error(s)])


def outage_answers(phase: str, samples: list[Sample]) -> list[Violation]:
    """While the database is down: a 2xx, a 429 or the contract's 503 with Retry-After;
    nothing else (a 500, a bare 503, an HTML page, a reset or refused connection)."""
    bad = [s for s in samples if is_error(s, outage=True)]
    return _grouped(phase, "only contract 503s (JSON errors + Retry-After)", bad)


def not_slow(phase: str, samples: list[Sample], limit: float = SLOW) -> list[Violation]:
    slow = [s for s in samples if s.latency > limit]
    if not slow:
        return []
    worst = max(slow, key=lambda s: s.latency)
    detail = f"{len(slow)} answers over {limit:g} s, worst {worst.latency:.2f} s"
    return [
        Violation(phase, f"none slower than {limit:g} s", f"{detail} ({worst.method} {worst.op})")
    ]


def in_flight_completed(phase: str, samples: list[Sample], signal_at: float) -> list[Violation]:
    """Every request sent before SIGTERM got a proper answer (no reset, no 5xx)."""
    before = [s for s in samples if s.sent < signal_at]
    return _grouped(phase, "in-flight requests complete", [s for s in before if is_error(s)])


def limited_per_process(phase: str, probe: list[Sample], load: list[Sample]) -> list[Violation]:
    """Redis is gone, the limits are not: the probe is refused (429) from memory, and every
    answer still carries the limiter's headers."""
    found = []
    if not any(s.status == 429 for s in probe):
        found.append(Violation(phase, "limits go on per process", "the probe got no 429"))
    bare = [s for s in load if s.acknowledged and not s.ratelimit_headers]
    if bare:
        found.append(
            Violation(phase, "limits go on per process", f"{len(bare)} answers without X-RateLimit")
        )
    return found


def counted_in_redis(
    phase: str, recovered_after: float | None, limit: float, probe: list[Sample], budget: int
) -> list[Violation]:
    """Redis is back: within ``limit`` seconds no worker counts in memory and the limiter's
    keys are in Redis; the probe then gets one shared budget. The sliding window weighs the
    previous minute's count, so a burst across a minute boundary may get one more; counted
    per process, a burst spread over 2 workers gets about two budgets."""
    rule = f"limits counted in Redis again within {limit:g} s"
    found = []
    if recovered_after is None or recovered_after > limit:
        seen = "never" if recovered_after is None else f"after {recovered_after:.1f} s"
        found.append(Violation(phase, rule, f"back in Redis {seen}"))
    passed = sum(1 for s in probe if s.status != 429)
    if not any(s.status == 429 for s in probe) or passed > budget + 1:
        found.append(Violation(phase, rule, f"probe: {passed} let through, budget {budget}"))
    return found


# After the drill: what the database holds ------------------------------------------------------


def surely_not_applied(sample: Sample) -> bool:
    """The request never reached the service (refused) or was refused by it (4xx, 429)."""
    if sample.status is None:
        return sample.error == "ConnectionRefusedError"
    return 400 <= sample.status < 500


def expected_favorites(samples: Iterable[Sample]) -> tuple[dict[tuple[int, str], bool], int]:
    """The favorite state each (user, article) must end in, from its actions in order: an
    acknowledged one fixes the state, one surely not applied leaves it, and any other (a 5xx,
    a reset, a timeout: applied or not, nobody knows) adds its state to the possible ones.
    Pairs left with two possible states are not checked; their number comes back too."""
    possible: dict[tuple[int, str], set[bool]] = {}
    for sample in sorted(samples, key=lambda s: s.sent):
        if sample.op not in ("favorite", "unfavorite"):
            continue
        pair, state = (sample.user, sample.target), sample.op == "favorite"
        states = possible.setdefault(pair, {False})  # nobody's favorite before the drill
        if sample.acknowledged:
            possible[pair] = {state}
        elif not surely_not_applied(sample):
            states.add(state)
    expected = {pair: states.pop() for pair, states in possible.items() if len(states) == 1}
    return expected, len(possible) - len(expected)


def lost_writes(
    acknowledged: Iterable[str], stored: set[str], what: str = "article"
) -> list[Violation]:
    missing = sorted(set(acknowledged) - stored)
    if not missing:
        return []
    shown = ", ".join(missing[:5])
    return [
        Violation(
            "after", "every acknowledged write is present", f"{len(missing)} {what}s lost: {shown}"
        )
    ]


def favorite_mismatches(
    expected: Mapping[tuple[int, str], bool], stored: set[tuple[int, str]]
) -> list[Violation]:
    wrong = [pair for pair, on in expected.items() if (pair in stored) != on]
    if not wrong:
        return []
    shown = ", ".join(
        f"user {u} on {slug}: {'expected' if expected[(u, slug)] else 'unexpected'}"
        for u, slug in wrong[:5]
    )
    return [
        Violation(
            "after",
            "favorite state is the last acknowledged action",
            f"{len(wrong)} pairs: {shown}",
        )
    ]


def count_mismatches(served: Mapping[str, int], rows: Mapping[str, int]) -> list[Violation]:
    """favoritesCount as the API serves it against count(*) of the favorite rows."""
    wrong = sorted(
        slug for slug in served.keys() | rows.keys() if served.get(slug) != rows.get(slug, 0)
    )
    if not wrong:
        return []
    shown = ", ".join(
        f"{slug}: served {served.get(slug)}, rows {rows.get(slug, 0)}" for slug in wrong[:5]
    )
    return [Violation("after", "favoritesCount equals its rows", shown)]
