"""The benchmark's results as Markdown: the tables, the ratios to the reference, the targets met,
and the block of bench/README.md they are written into.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
from datetime import UTC, datetime
from typing import Any

from bench.harness import ROOT, SEED, WRK_VERSION, Measurement

README = ROOT / "bench" / "README.md"


def summary(results: dict[str, list[Measurement]], key: str) -> Measurement:
    """The medians of the rounds (the worst of the CPU shares others used)."""
    runs = results[key]
    return Measurement(
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
        requests=sum(r.requests for r in runs),
        busy_before=max(r.busy_before for r in runs),
        busy_during=max(r.busy_during for r in runs),
    )


def busy(m: Measurement) -> str:
    return f"{m.busy_before:.0%} / {m.busy_during:.0%}"


def spread(runs: list[Measurement]) -> str:
    return f"{min(r.rps for r in runs):.0f}-{max(r.rps for r in runs):.0f}"


def pass_table(result: dict[str, Any]) -> list[str]:
    """One data size's table: the reference routes, then the app's with ratios and targets."""
    results = result["results"]
    rows = [
        "| route | req/s | req/s range | p50 ms | p99 ms | errors | ratio to reference | target"
        " | met | other CPU before / during |",
        "|---|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    names = {s.key: s.label.removeprefix("reference: ") for s in result["references"]}
    for scenario in result["references"]:
        m = summary(results, scenario.key)
        ratio = ""
        if scenario.reference:  # a floor measured against another floor
            floor = summary(results, scenario.reference)
            ratio = f"{m.rps / floor.rps:.1%} of {names[scenario.reference]}"
        rows.append(
            f"| {scenario.label} | {m.rps:.0f} | {spread(results[scenario.key])}"
            f" | {m.p50_ms:.1f} | {m.p99_ms:.1f} | {m.errors} | {ratio} | | | {busy(m)} |"
        )
    for scenario in result["plan"]:
        m, ref = summary(results, scenario.key), summary(results, scenario.reference)
        ratio = m.rps / ref.rps
        target = f">= {scenario.target:.0%}" if scenario.target else "-"
        met = "-" if scenario.target is None else ("yes" if ratio >= scenario.target else "**no**")
        rows.append(
            f"| {scenario.label} | {m.rps:.0f} | {spread(results[scenario.key])}"
            f" | {m.p50_ms:.1f} | {m.p99_ms:.1f} | {m.errors}"
            f" | {ratio:.1%} of {names[scenario.reference]} | {target} | {met} | {busy(m)} |"
        )
    return rows


def scaling_table(small: dict[str, Any], large: dict[str, Any], limit: float) -> list[str]:
    """The list and feed latency at the largest data size against the smallest."""
    rows = [
        f"| route | p50 ms {small['articles']:,} | p50 ms {large['articles']:,} | x"
        f" | p99 ms {small['articles']:,} | p99 ms {large['articles']:,} | x"
        f" | within {limit}x |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    labels = {s.key: s.label for s in small["plan"]}
    for key in ("list", "list_auth", "feed"):
        a, b = summary(small["results"], key), summary(large["results"], key)
        p50, p99 = b.p50_ms / a.p50_ms, b.p99_ms / a.p99_ms
        met = "yes" if max(p50, p99) <= limit else "**no**"
        rows.append(
            f"| {labels[key]} | {a.p50_ms:.1f} | {b.p50_ms:.1f} | {p50:.2f}"
            f" | {a.p99_ms:.1f} | {b.p99_ms:.1f} | {p99:.2f} | {met} |"
        )
    return rows


LIST_ROUTES = (
    "list",
    "list_auth",
    "feed",
    "tag",
    "author",
    "favorited",
    "offset_10k",
    "deep_offset",
    "deep_cursor",
)


def p50_table(small: dict[str, Any], large: dict[str, Any], limit: float) -> list[str]:
    """Every list's median latency at the largest data size against the smallest (issue 12:
    p50 within ``limit``x); only routes both passes measured."""
    rows = [
        f"| route | p50 ms {small['articles']:,} | p50 ms {large['articles']:,} | x"
        f" | other CPU during ({small['articles']:,} / {large['articles']:,})"
        f" | within {limit:g}x |",
        "|---|---:|---:|---:|---|---|",
    ]
    labels = {s.key: s.label for s in small["plan"]}
    for key in LIST_ROUTES:
        if key not in small["results"] or key not in large["results"]:
            continue
        a, b = summary(small["results"], key), summary(large["results"], key)
        ratio = b.p50_ms / a.p50_ms
        met = "yes" if ratio <= limit else "**no**"
        rows.append(
            f"| {labels[key]} | {a.p50_ms:.1f} | {b.p50_ms:.1f} | {ratio:.2f}"
            f" | {a.busy_during:.0%} / {b.busy_during:.0%} | {met} |"
        )
    return rows


def subjects(data: dict[str, Any]) -> str:
    """Who the filtered lists are about, and how many articles each has."""
    if "tag" not in data:
        return ""
    (tag, tagged), (author, authored), (fan, favorited) = (
        data["tag"],
        data["author"],
        data["favoriter"],
    )
    return (
        f" Filtered lists: tag `{tag}` ({tagged:,} articles), author `{author}`"
        f" ({authored:,}), favorited by `{fan}` ({favorited:,})."
    )


DEFAULT_SETTINGS = {"RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING"}


def _settings_text(opts: argparse.Namespace) -> str:
    """The servers' settings that matter for speed: the harness's, with ``--setting`` over them
    (rate-limit values and key prefixes are in the command line above)."""
    overrides = dict(item.split("=", 1) for item in getattr(opts, "setting", []))
    merged = DEFAULT_SETTINGS | {k: v for k, v in overrides.items() if k in DEFAULT_SETTINGS}
    return ", ".join(f"{key}={value}" for key, value in merged.items())


def report(passes: list[dict[str, Any]], opts: argparse.Namespace, command: str) -> str:
    """The whole result: when, on which commit, with which command and settings, the tables."""

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - read-only queries
            ["git", "-C", str(ROOT), *args],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    if git("status", "--porcelain", "--untracked-files=no", "--", "app", "config.py", "ops"):
        commit += " + uncommitted changes"
    lines = [
        *measured_with(command, commit),
        f"wrk {WRK_VERSION}: {opts.threads} threads, {opts.connections} connections,"
        f" {opts.duration:g} s per measurement after {opts.warmup:g} s of warm-up, {opts.rounds}"
        f" round{'s' if opts.rounds != 1 else ''} through all routes"
        " (medians; the reference routes once more at the end);"
        " gunicorn"
        f" `{' '.join(['-c ops/gunicorn.conf.py', *opts.gunicorn_args.split()])}`"
        " (gthread, 2 workers x 4 threads), APP_ENV=production,"
        f" {_settings_text(opts)}, for the app and the reference alike.",
    ]
    for result in passes:
        feed = result["data"]
        lines += [
            "",
            f"### {result['articles']:,} articles, {result['users']:,} users",
            "",
            f"Seeded (`flask seed --seed {SEED}`) in {result['seed_inner']:.1f} s"
            f" ({result['seed_wall']:.1f} s with the app's start-up): {result['inserted']}."
            f" Feed reader follows {feed['reader_follows']} authors"
            f" ({feed['feed_size']:,} feed articles). Worker boots during the pass:"
            f" app {result['boots']['app']}, reference {result['boots']['reference']}."
            + subjects(feed),
            "",
            *pass_table(result),
        ]
    if len(passes) >= 2:
        small, large = passes[0], passes[-1]
        lines += [
            "",
            f"### Latency at {large['articles']:,} vs {small['articles']:,} articles",
            "",
            *scaling_table(small, large, 1.5),
            "",
            f"### Lists at {large['articles']:,} vs {small['articles']:,} articles (p50)",
            "",
            *p50_table(small, large, 2.0),
        ]
    return "\n".join(lines)


def measured_with(command: str, commit: str | None = None) -> list[str]:
    """A result block's first lines: when, on which commit, how busy, and the command."""
    on_commit = f" on commit `{commit}`" if commit else ""
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{on_commit}"
        f" ({os.cpu_count()} cores; load average at the end {load}), with:",
        "",
        "```sh",
        command,
        "```",
        "",
    ]


def write_readme(text: str, name: str) -> None:
    """Replace the README's block ``name`` (between its two markers), or append it."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    current = README.read_text() if README.exists() else "# Benchmark\n"
    block = f"{start}\n{text}\n{end}"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        updated = before + block + rest.split(end, 1)[1]
    else:
        updated = current.rstrip("\n") + f"\n\n## {name}\n\n" + block + "\n"
    README.write_text(updated)
