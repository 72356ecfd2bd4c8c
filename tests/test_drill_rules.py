"""The fault drill's verdicts (tests/drills/rules.py) on recorded samples: each rule reports a
sample that breaks it, and a clean run passes. No processes: the drill itself runs in CI as
its own step (`python -m tests.drills.fault_drill`)."""

from __future__ import annotations

import json
from dataclasses import replace

from tests.drills import rules
from tests.drills.report import PhaseResult, error_lines, storage_lines, table
from tests.drills.rules import PROBE, Sample

OK = Sample("p", "read", "GET", sent=1.0, latency=0.01, status=200, ratelimit_headers=True)
CREATED = Sample("p", "create", "POST", sent=1.1, latency=0.02, status=201, target="a-1")
LIMITED = Sample("p", "read", "GET", sent=1.2, latency=0.01, status=429, errors_envelope=True)
UNAVAILABLE = Sample(
    "p", "read", "GET", sent=1.3, latency=0.01, status=503, errors_envelope=True, retry_after="5"
)
RESET = Sample(
    "p", "read", "GET", sent=1.4, latency=0.01, status=None, error="ConnectionResetError"
)
REFUSED = replace(RESET, error="ConnectionRefusedError")
PROBED = Sample(PROBE, PROBE, "POST", sent=1.5, latency=0.01, status=401, errors_envelope=True)


def favorite(user: int, slug: str, on: bool, sent: float, status: int | None = 200) -> Sample:
    op, method = ("favorite", "POST") if on else ("unfavorite", "DELETE")
    error = "" if status is not None else "ConnectionResetError"
    return Sample("p", op, method, sent, 0.01, status, error, user=user, target=slug)


# Answers ---------------------------------------------------------------------------------------


def test_a_clean_phase_passes_every_answer_rule():
    clean = [OK, CREATED, LIMITED, PROBED]
    assert rules.no_errors("p", clean) == []
    assert rules.outage_answers("p", [*clean, UNAVAILABLE]) == []
    assert rules.not_slow("p", clean) == []
    assert rules.in_flight_completed("p", clean, signal_at=2.0) == []


def test_a_500_is_an_error_in_any_phase():
    failed = replace(OK, status=500, errors_envelope=True)
    assert rules.no_errors("p", [OK, failed])
    assert rules.outage_answers("p", [OK, failed])


def test_a_connection_error_is_an_error():
    (violation,) = rules.no_errors("p", [OK, RESET, RESET])
    assert violation.detail == "2 x GET read -> ConnectionResetError"


def test_the_contract_503_is_an_error_outside_an_outage():
    assert rules.no_errors("p", [UNAVAILABLE])


def test_a_503_without_retry_after_breaks_the_outage_rule():
    assert rules.outage_answers("p", [replace(UNAVAILABLE, retry_after=None)])


def test_a_503_with_a_retry_after_of_zero_breaks_the_outage_rule():
    assert rules.outage_answers("p", [replace(UNAVAILABLE, retry_after="0")])


def test_a_503_outside_the_error_envelope_breaks_the_outage_rule():
    assert rules.outage_answers("p", [replace(UNAVAILABLE, errors_envelope=False)])


def test_a_refused_connection_breaks_the_outage_rule():
    assert rules.outage_answers("p", [REFUSED])


def test_a_six_second_answer_is_too_slow():
    (violation,) = rules.not_slow("p", [OK, replace(UNAVAILABLE, latency=6.0)])
    assert "worst 6.00 s" in violation.detail


def test_the_probe_s_401_is_expected_but_a_load_401_is_an_error():
    assert rules.no_errors("p", [PROBED]) == []
    assert rules.no_errors("p", [replace(OK, status=401)])


# SIGTERM ---------------------------------------------------------------------------------------


def test_a_request_reset_after_being_sent_before_sigterm_is_reported():
    assert rules.in_flight_completed("sigterm", [replace(RESET, sent=1.9)], signal_at=2.0)


def test_requests_sent_after_sigterm_are_not_judged():
    assert rules.in_flight_completed("sigterm", [replace(REFUSED, sent=2.1)], signal_at=2.0) == []


# Rate limits -----------------------------------------------------------------------------------


def test_limits_going_on_without_redis_need_a_429_and_the_headers():
    assert rules.limited_per_process("p", [PROBED, replace(PROBED, status=429)], [OK]) == []
    assert rules.limited_per_process("p", [PROBED] * 30, [OK])
    assert rules.limited_per_process(
        "p", [replace(PROBED, status=429)], [replace(OK, ratelimit_headers=False)]
    )


def test_limits_back_in_redis_in_time_with_one_shared_budget_pass():
    probe = [PROBED] * 10 + [replace(PROBED, status=429)] * 20
    assert rules.counted_in_redis("p", 3.0, 10.0, probe, budget=10) == []


def test_limits_never_back_in_redis_are_reported():
    assert rules.counted_in_redis("p", None, 10.0, [], budget=10)


def test_limits_back_in_redis_too_late_are_reported():
    probe = [PROBED] * 10 + [replace(PROBED, status=429)] * 20
    assert rules.counted_in_redis("p", 12.0, 10.0, probe, budget=10)


def test_a_probe_let_through_beyond_one_budget_means_per_process_counting():
    probe = [PROBED] * 20 + [replace(PROBED, status=429)] * 10
    assert rules.counted_in_redis("p", 3.0, 10.0, probe, budget=10)


def test_one_more_across_a_minute_boundary_is_still_one_shared_budget():
    probe = [PROBED] * 11 + [replace(PROBED, status=429)] * 19
    assert rules.counted_in_redis("p", 3.0, 10.0, probe, budget=10) == []


# The database afterwards -----------------------------------------------------------------------


def test_a_lost_acknowledged_create_is_reported():
    (violation,) = rules.lost_writes(["a-1", "a-2"], stored={"a-1"})
    assert "1 articles lost: a-2" in violation.detail
    assert rules.lost_writes(["a-1"], stored={"a-1", "other"}) == []


def test_the_last_acknowledged_favorite_action_decides_the_state():
    samples = [
        favorite(0, "a", True, 1.0),
        favorite(0, "a", False, 2.0),
        favorite(1, "a", True, 3.0),
    ]
    assert rules.expected_favorites(samples) == ({(0, "a"): False, (1, "a"): True}, 0)


def test_a_favorite_action_that_surely_did_not_happen_leaves_the_state():
    refused = replace(favorite(0, "a", False, 2.0, None), error="ConnectionRefusedError")
    samples = [favorite(0, "a", True, 1.0), refused, favorite(0, "a", False, 3.0, 429)]
    assert rules.expected_favorites(samples) == ({(0, "a"): True}, 0)


def test_a_favorite_action_without_an_answer_makes_the_state_undecidable():
    samples = [favorite(0, "a", True, 1.0), favorite(0, "a", False, 2.0, 503)]
    assert rules.expected_favorites(samples) == ({}, 1)


def test_a_favorite_state_other_than_the_last_acknowledged_action_is_reported():
    expected = {(0, "a"): True, (1, "a"): False}
    assert rules.favorite_mismatches(expected, stored={(0, "a")}) == []
    assert rules.favorite_mismatches(expected, stored={(0, "a"), (1, "a")})
    assert rules.favorite_mismatches(expected, stored=set())


def test_a_favorites_count_other_than_its_rows_is_reported():
    assert rules.count_mismatches({"a": 2, "b": 0}, {"a": 2}) == []
    (violation,) = rules.count_mismatches({"a": 2, "b": 0}, {"a": 3})
    assert "a: served 2, rows 3" in violation.detail


# Output ----------------------------------------------------------------------------------------


def test_a_phase_with_a_violation_prints_fail_with_the_violation():
    violations = rules.no_errors("pg_back", [replace(OK, status=500)])
    result = PhaseResult("pg_back", "PostgreSQL back", ["0 non-429 errors"], [OK], violations)
    printed = table(result)
    assert "VIOLATION       0 non-429 errors: 1 x GET read -> 500" in printed
    assert printed.endswith("verdict         FAIL")


def test_error_lines_group_the_app_s_json_errors_by_message():
    line = '{"level": "ERROR", "logger": "app.errors", "message": "unhandled exception: KeyError"}'
    info = '{"level": "INFO", "logger": "app", "message": "request"}'
    assert error_lines("\n".join([line, line, info])) == [
        "    2 x app.errors: unhandled exception: KeyError"
    ]


def test_error_lines_name_the_exception_not_sqlalchemy_s_background_link():
    traceback = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "x.py", line 1',
            "sqlalchemy.exc.OperationalError: (psycopg.errors.AdminShutdown) terminating",
            "[SQL: hidden]",
            "(Background on this error at: https://sqlalche.me/e/21/e3q8)",
        ]
    )
    entry = {"level": "ERROR", "logger": "app.errors", "message": "db down", "exc_info": traceback}
    assert error_lines(json.dumps(entry)) == [
        "    1 x app.errors: db down <- sqlalchemy.exc.OperationalError: "
        "(psycopg.errors.AdminShutdown) terminating"
    ]


def test_storage_lines_are_the_rate_limit_storage_s_switches_in_order():
    down = (
        '{"time": "t1", "level": "WARNING", "logger": "app.security.ratelimit_storage", '
        '"message": "rate-limit storage unreachable (ConnectionError)"}'
    )
    up = (
        '{"time": "t2", "level": "INFO", "logger": "app.security.ratelimit_storage", '
        '"message": "rate-limit storage reachable again after 7.0 s"}'
    )
    other = '{"time": "t3", "level": "INFO", "logger": "app.request", "message": "GET /api/tags"}'
    assert storage_lines("\n".join([down, other, "[INFO] Booting worker", up])) == [
        "t1 WARNING rate-limit storage unreachable (ConnectionError)",
        "t2 INFO rate-limit storage reachable again after 7.0 s",
    ]
