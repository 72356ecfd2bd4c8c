"""The fault drill's output: one table per phase, then a summary line per phase."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.drills.rules import Sample, Violation, is_error


@dataclass
class PhaseResult:
    name: str
    what: str  # what was done to the service
    rules: list[str]  # what must hold, in words
    samples: list[Sample] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0
    facts: list[str] = field(default_factory=list)  # measured, e.g. "back in Redis after 2.9 s"
    outage: bool = False
    # Requests sent from this moment on are not judged (after SIGTERM: the port is closed).
    cutoff: float | None = None

    @property
    def judged(self) -> list[Sample]:
        if self.cutoff is None:
            return self.samples
        return [s for s in self.samples if s.sent < self.cutoff]

    @property
    def passed(self) -> bool:
        return not self.violations


def by_status(samples: list[Sample]) -> str:
    counts = Counter(s.outcome for s in samples)
    return " ".join(f"{outcome}:{n}" for outcome, n in sorted(counts.items())) or "-"


def table(result: PhaseResult) -> str:
    samples = result.judged
    late = [s for s in result.samples if s not in samples]
    ignored = [("sent after", f"{len(late)}, not judged: {by_status(late)}")] if late else []
    errors = sum(1 for s in samples if is_error(s, outage=result.outage))
    slowest = max((s.latency for s in samples), default=0.0)
    rows = [
        ("phase", f"{result.name} ({result.seconds:.1f} s): {result.what}"),
        ("requests", str(len(samples))),
        ("by status", by_status(samples)),
        *ignored,
        ("non-429 errors", str(errors) + (" (contract 503s allowed)" if result.outage else "")),
        ("max latency", f"{slowest:.3f} s"),
        *(("measured", fact) for fact in result.facts),
        *(("rule", rule) for rule in result.rules),
        *(("VIOLATION", f"{v.rule}: {v.detail}") for v in result.violations),
        ("verdict", "PASS" if result.passed else "FAIL"),
    ]
    width = max(len(name) for name, _ in rows)
    line = "-" * 100
    return "\n".join([line, *(f"{name:<{width}}  {value}" for name, value in rows)])


def summary(results: list[PhaseResult]) -> str:
    head = f"{'phase':<12} {'requests':>8} {'errors':>6} {'max s':>7}  verdict"
    rows = []
    for result in results:
        samples = result.judged
        errors = sum(1 for s in samples if is_error(s, outage=result.outage))
        slowest = max((s.latency for s in samples), default=0.0)
        verdict = "PASS" if result.passed else "FAIL"
        rows.append(f"{result.name:<12} {len(samples):>8} {errors:>6} {slowest:>7.3f}  {verdict}")
    return "\n".join([head, *rows])


def storage_lines(log: str) -> list[str]:
    """The rate-limit storage's own lines (each worker's switch to memory and back), in order:
    CI keeps only the head and tail of the output, and these say how a Redis phase went."""
    entries = (_app_entry(line) for line in log.splitlines())
    return [
        f"{entry.get('time')} {entry.get('level')} {entry.get('message')}"
        for entry in entries
        if entry is not None and entry.get("logger") == "app.security.ratelimit_storage"
    ]


def _app_entry(line: str) -> dict[str, Any] | None:
    """The app's JSON log entry on ``line``; None for gunicorn's plain-text lines."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def error_lines(log: str, shown: int = 10) -> list[str]:
    """gunicorn's and the app's ERROR lines, grouped: the message and the exception's last
    line (the app logs one JSON object a line, gunicorn plain text), with counts."""
    found: Counter[str] = Counter()
    for line in log.splitlines():
        entry = _app_entry(line)
        if entry is not None:
            if entry.get("level") not in ("ERROR", "CRITICAL"):
                continue
            text = f"{entry.get('logger')}: {entry.get('message')}"
            cause = _exception_line(entry.get("exc_info") or "")
            found[(f"{text} <- {cause}" if cause else text)[:240]] += 1
        elif "[ERROR]" in line or "[CRITICAL]" in line:
            found[line.split("] ", 2)[-1][:240]] += 1
    return [f"{n:>5} x {text}" for text, n in found.most_common(shown)]


def _exception_line(traceback: str) -> str:
    """The last "module.Error: message" line of a traceback (SQLAlchemy adds "[SQL: ...]" and
    "(Background on this error ...)" after it)."""
    lines = [line for line in traceback.splitlines() if line and line[0] not in " \t([^~"]
    lines = [line for line in lines if not line.startswith(("Traceback", "The above", "During"))]
    return lines[-1] if lines else ""
