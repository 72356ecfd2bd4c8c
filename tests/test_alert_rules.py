"""The Prometheus alert rules (ops/prometheus/): valid for Prometheus, unit-tested with promtool,
each one tested firing and not firing, pointing at a runbook section that exists, and built only
from metrics the service exports.

promtool comes from Debian's ``prometheus`` package (``.ci/run`` extracts it and sets
``PROMTOOL``); found on ``PATH`` otherwise. Missing, its tests skip, except in CI where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import service_unavailable

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS_DIR = ROOT / "ops" / "prometheus"
RULES = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = PROMETHEUS_DIR / "alerts_test.yml"
EXAMPLE_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RUNBOOK = ROOT / "docs" / "INCIDENT_RESPONSE.md"
RUNBOOK_PATH = "docs/INCIDENT_RESPONSE.md"

# The contract between GET /metrics and these rules (a histogram is its three series).
EXPORTED_METRICS = {
    "conduit_http_requests_total",
    "conduit_http_request_duration_seconds_bucket",
    "conduit_http_request_duration_seconds_sum",
    "conduit_http_request_duration_seconds_count",
    "conduit_http_requests_in_flight",
    "conduit_rate_limit_refusals_total",
    "conduit_rate_limit_fallback",
    "conduit_db_pool_checked_out",
    "conduit_db_pool_overflow",
    "conduit_db_pool_capacity",
    "conduit_auth_failures_total",
    "conduit_backup_last_success_timestamp_seconds",
    "conduit_backup_last_verified_timestamp_seconds",
}
# Added by Prometheus (every scrape) and by the blackbox exporter probing /health.
SCRAPE_METRICS = {"up", "probe_success"}
SEVERITIES = {"page", "ticket"}


# promtool ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> str:
    path = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not (path and os.access(path, os.X_OK)):
        service_unavailable("promtool not found: set PROMTOOL or put it on PATH (.ci/run has it)")
    return path


def run_promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_alert_rules_pass_promtool_check(promtool):
    result = run_promtool(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_rules_pass_their_promtool_unit_tests(promtool):
    result = run_promtool(promtool, "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_example_prometheus_config_and_the_rules_it_loads_are_valid(promtool):
    result = run_promtool(promtool, "check", "config", str(EXAMPLE_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alerts.yml" in result.stdout  # the rule file was found and checked too


# The rules' shape ------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def alert_ids() -> list[str]:
    return [rule["alert"] for rule in alerts()]


@pytest.mark.parametrize("alert", alerts(), ids=alert_ids())
def test_every_alert_has_a_severity_summary_description_and_runbook(alert):
    assert alert["labels"]["severity"] in SEVERITIES
    assert set(alert["annotations"]) >= {"summary", "description", "runbook_url"}
    assert all(alert["annotations"][key].strip() for key in ("summary", "description"))


def unit_tests_of(alertname: str) -> list[dict[str, Any]]:
    return [
        case
        for test in load_yaml(RULE_TESTS)["tests"]
        for case in test.get("alert_rule_test", [])
        if case["alertname"] == alertname
    ]


@pytest.mark.parametrize("alertname", alert_ids())
def test_every_alert_is_unit_tested_firing_with_its_labels_and_annotations(alertname):
    firing = [alert for case in unit_tests_of(alertname) for alert in case["exp_alerts"]]
    assert firing, f"no unit test where {alertname} fires"
    assert all(alert.get("exp_labels", {}).get("severity") for alert in firing)
    assert all(alert.get("exp_annotations", {}).get("runbook_url") for alert in firing)


@pytest.mark.parametrize("alertname", alert_ids())
def test_every_alert_is_unit_tested_not_firing(alertname):
    assert any(case["exp_alerts"] == [] for case in unit_tests_of(alertname)), (
        f"no unit test where {alertname} stays silent"
    )


# Runbook links -----------------------------------------------------------------------------------


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown``: lower case, punctuation dropped,
    spaces as dashes, ``-1``, ``-2``... on repeats; headings inside code fences are not any."""
    anchors: set[str] = set()
    seen: Counter[str] = Counter()
    in_fence = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        heading = re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line)
        if in_fence or not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        anchors.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return anchors


def test_github_anchors_follow_githubs_rules():
    markdown = "\n".join(
        [
            "# 5xx spike",
            "## Rotating `JWT_SECRET_KEY`",
            "```",
            "# not a heading",
            "```",
            "## 5xx spike",
        ]
    )
    assert github_anchors(markdown) == {"5xx-spike", "rotating-jwt_secret_key", "5xx-spike-1"}


@pytest.mark.parametrize("alert", alerts(), ids=alert_ids())
def test_every_runbook_url_points_at_a_heading_of_the_incident_runbook(alert):
    path, _, anchor = alert["annotations"]["runbook_url"].partition("#")
    assert path.endswith(RUNBOOK_PATH)
    assert anchor in github_anchors(RUNBOOK.read_text(encoding="utf-8"))


# Metric names ------------------------------------------------------------------------------------

_NOT_NAMES = [
    re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`"""),  # strings
    re.compile(r"\{[^}]*\}"),  # label matchers
    re.compile(r"\[[^\]]*\]"),  # ranges and subqueries
    re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"),  # label lists
]
_IDENTIFIER = re.compile(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "group_left", "group_right", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords left out)."""
    for pattern in _NOT_NAMES:
        expr = pattern.sub(" ", expr)
    return {
        name
        for name, call in _IDENTIFIER.findall(expr)
        if not call and name.lower() not in _KEYWORDS
    }


def test_metric_names_are_the_selectors_not_functions_labels_or_keywords():
    expr = (
        'sum by (job, le) (rate(a_bucket{status=~"5..", le="+Inf"}[5m] offset 1h)) '
        "/ on (job) group_left b:rate5m > 1e9 and time() - max(c) > 26 * 3600"
    )
    assert metric_names(expr) == {"a_bucket", "b:rate5m", "c"}


@pytest.mark.parametrize("rule", rules(), ids=[r.get("alert") or r["record"] for r in rules()])
def test_rules_use_only_exported_metrics_and_recorded_series(rule):
    recorded = {r["record"] for r in rules() if "record" in r}
    unknown = metric_names(rule["expr"]) - EXPORTED_METRICS - SCRAPE_METRICS - recorded
    assert unknown == set()
