"""Prometheus metrics: the series the alert rules read (names and labels are a contract; see
ops/prometheus/), the calls that record them, and the text a scrape answers.

Under gunicorn (``ops/gunicorn.conf.py``) ``PROMETHEUS_MULTIPROC_DIR`` is set before any worker
imports prometheus_client, so every value below lives in a memory-mapped file of its process
and a scrape sums the files of all workers (multiprocess mode). Elsewhere (``flask run``, tests)
the values live in this process and the default registry answers. Gauges therefore name how
workers combine: ``livesum`` adds the workers alive now; ``livemax`` is 1 while any live
worker is degraded. The ``live`` modes drop a dead worker's file (``child_exit``), so a worker
that died mid-request or mid-outage leaves nothing behind.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# Decided when prometheus_client is imported, and so here: the value class follows it.
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ
# No ``*_created`` series: multiprocess mode has none, so a scrape reads the same either way.
disable_created_metrics()
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
AUTH_FAILURE_REASONS = frozenset(
    {"invalid_credentials", "missing_token", "invalid_token", "expired_token", "revoked_session"}
)

HTTP_REQUESTS = Counter(
    "conduit_http_requests",
    "HTTP responses, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "conduit_http_request_duration_seconds",
    "Time from the first to the last request hook, by method and route template",
    ["method", "route"],
    buckets=DURATION_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "conduit_http_requests_in_flight",
    "Requests inside the Flask application now",
    multiprocess_mode="livesum",
)
RATE_LIMIT_REFUSALS = Counter(
    "conduit_rate_limit_refusals",
    "Requests refused with 429, by the limit class that was spent",
    ["limit_class"],
)
RATE_LIMIT_FALLBACK = Gauge(
    "conduit_rate_limit_fallback",
    "1 while a worker counts rate limits in its own memory because Redis is unreachable",
    multiprocess_mode="livemax",
)
DB_POOL_CHECKED_OUT = Gauge(
    "conduit_db_pool_checked_out",
    "Database connections checked out of the pool now",
    multiprocess_mode="livesum",
)
DB_POOL_OVERFLOW = Gauge(
    "conduit_db_pool_overflow",
    "Database connections open above the pool size now",
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "conduit_db_pool_capacity",
    "Database connections the pool may open (pool size + max overflow)",
    multiprocess_mode="livesum",
)
AUTH_FAILURES = Counter(
    "conduit_auth_failures",
    "Refused logins and tokens, by reason",
    ["reason"],
)


def count_rate_limit_refusal(limit_class: str) -> None:
    RATE_LIMIT_REFUSALS.labels(limit_class).inc()


def set_rate_limit_fallback(active: bool) -> None:
    RATE_LIMIT_FALLBACK.set(1 if active else 0)


def count_auth_failure(reason: str) -> None:
    """``reason`` is one of ``AUTH_FAILURE_REASONS`` (the alert rules match on them)."""
    if reason not in AUTH_FAILURE_REASONS:
        raise ValueError(f"unknown auth failure reason {reason!r}")
    AUTH_FAILURES.labels(reason).inc()


# Publishing -------------------------------------------------------------------------------------
# Values that would cost the request path to keep current (request tallies, the pool) are
# written to the metrics by publishers: every second by a thread of each process, before each
# scrape by the worker answering it, and when a process exits normally.

PUBLISH_EVERY = 1.0  # seconds
_publishers: list[Callable[[], None]] = []
_publishing_pid: list[int] = []  # the process whose publishing thread runs (none: empty)
_publishing_lock = threading.Lock()


def add_publisher(publisher: Callable[[], None]) -> None:
    with _publishing_lock:
        if publisher not in _publishers:
            _publishers.append(publisher)


def publish() -> None:
    """Run every publisher now."""
    for publisher in list(_publishers):
        publisher()


def keep_publishing() -> None:
    """Start this process's publishing thread, once (again in a child forked after it)."""
    pid = os.getpid()
    if _publishing_pid == [pid]:
        return
    with _publishing_lock:
        if _publishing_pid != [pid]:
            _publishing_pid[:] = [pid]
            threading.Thread(target=_publish_forever, name="metrics", daemon=True).start()


def _publish_forever() -> None:
    while True:
        time.sleep(PUBLISH_EVERY)
        publish()


atexit.register(publish)  # a worker stopping gracefully publishes its last second


# Exposition -------------------------------------------------------------------------------------


class _Scrape:
    """The collectors of one scrape, read in order."""

    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def exposition(*extra: Collector) -> bytes:
    """The Prometheus text of every metric above, with ``extra`` collectors after them.

    In multiprocess mode a new collector reads the workers' files on each scrape (the notes'
    recipe: nothing is cached between scrapes); otherwise the default registry answers, with
    prometheus_client's own process and Python series.
    """
    values: Collector = MultiProcessCollector(None) if MULTIPROCESS else REGISTRY
    return generate_latest(_Scrape(values, *extra))
