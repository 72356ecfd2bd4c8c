"""Metrics under gunicorn as operators run it (``ops/gunicorn.conf.py``): two workers, each
keeping its values in its own files in ``PROMETHEUS_MULTIPROC_DIR``, and one scrape of
``/metrics``, answered by either worker, adding up all of them. A worker publishes its request
counts every second (and before answering a scrape), so a total may take a second to arrive."""

from __future__ import annotations

import os
import re
import shutil
import signal
import urllib.error
import urllib.request
from contextlib import AbstractContextManager
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from config import CHEAP_PASSWORD_HASHING
from tests.conftest import wait_until
from tests.serving import gunicorn

REQUESTS = "conduit_http_requests_total"
UNMATCHED_404 = {"method": "GET", "route": "unmatched", "status": "404"}
REQUEST_COUNT = 40
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def served_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A development app on SQLite; rate limits off, so that every request is answered."""
    kept = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **kept,
        **CHEAP_PASSWORD_HASHING,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path}/served.db",
        "RATELIMIT_ENABLED": "false",
        **extra,
    }


def two_workers(tmp_path: Path, **extra: str) -> AbstractContextManager[str]:
    """gunicorn with two workers serving ``served_env``; yields its base URL."""
    return gunicorn(served_env(tmp_path, **extra), workers=2)


def status_of(url: str) -> int:
    """One request on a new connection (urllib sends ``Connection: close``), so the kernel
    spreads them over the workers' SO_REUSEPORT sockets."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(base: str) -> Samples:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        return parse(response.read().decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def pids_with(directory: Path, kind: str) -> set[int]:
    """The pids that have a ``<kind>_<pid>.db`` file in the metrics directory."""
    pattern = re.compile(rf"{kind}_(\d+)\.db")
    return {int(m[1]) for p in directory.iterdir() if (m := pattern.fullmatch(p.name))}


def read_alone(file: Path, scratch: Path) -> Samples:
    """One worker's file read on its own, by the collector a scrape uses, from a copy."""
    scratch.mkdir(parents=True, exist_ok=True)
    for old in scratch.iterdir():
        old.unlink()
    shutil.copy(file, scratch)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(scratch))
    return parse(generate_latest(registry).decode())


def counted_by_each_worker(directory: Path, scratch: Path) -> dict[int, float]:
    """Unmatched 404s per worker, from each worker's counter file."""
    return {
        pid: value(read_alone(directory / f"counter_{pid}.db", scratch), REQUESTS, **UNMATCHED_404)
        for pid in pids_with(directory, "counter")
    }


def unmatched_total(base: str) -> float:
    return value(scrape(base), REQUESTS, **UNMATCHED_404)


def test_one_scrape_adds_up_the_requests_of_every_worker(tmp_path):
    metrics_dir = tmp_path / "metrics"
    with two_workers(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as base:
        statuses = [status_of(f"{base}/no-such-path") for _ in range(REQUEST_COUNT)]
        wait_until(
            lambda: unmatched_total(base) == REQUEST_COUNT,
            f"one scrape did not count the {REQUEST_COUNT} requests within 30 s",
        )
        per_worker = counted_by_each_worker(metrics_dir, tmp_path / "scratch")
    assert statuses == [404] * REQUEST_COUNT
    assert len(per_worker) == 2 and all(count > 0 for count in per_worker.values())
    assert sum(per_worker.values()) == REQUEST_COUNT


def test_live_gauges_are_summed_over_the_workers_alive(tmp_path):
    metrics_dir = tmp_path / "metrics"
    samples: Samples = {}

    def settled() -> bool:
        # gunicorn answers once one worker is up, and each worker publishes its gauges once a
        # second: until both have, the sum lags (a worker not booted yet, or the other one's
        # previous scrape still counted in flight).
        samples.clear()
        samples.update(scrape(base))
        # SQLite's pool: 5 connections and 10 overflow per worker (QueuePool's defaults).
        capacity = value(samples, "conduit_db_pool_capacity")
        in_flight = value(samples, "conduit_http_requests_in_flight")  # the scrape itself
        return capacity == 2 * 15 and in_flight == 1

    with two_workers(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as base:
        wait_until(settled, "capacity 30 and 1 request in flight not reached within 30 s")
    assert value(samples, "conduit_rate_limit_fallback") == 0  # no Redis configured


def test_a_dead_workers_gauges_leave_and_its_counts_stay(tmp_path):
    metrics_dir = tmp_path / "metrics"
    with two_workers(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as base:
        statuses = [status_of(f"{base}/no-such-path") for _ in range(REQUEST_COUNT)]
        wait_until(lambda: unmatched_total(base) == REQUEST_COUNT, "counts not published")
        workers = pids_with(metrics_dir, "gauge_livesum")
        assert len(workers) == 2
        dead = min(workers)
        os.kill(dead, signal.SIGKILL)  # a worker of the gunicorn this test started
        wait_until(
            lambda: (
                dead not in pids_with(metrics_dir, "gauge_livesum")
                and len(pids_with(metrics_dir, "gauge_livesum")) == 2
            ),
            "gunicorn did not replace the killed worker within 30 s",
        )
        (new,) = pids_with(metrics_dir, "gauge_livesum") - workers
        new_file = metrics_dir / f"gauge_livesum_{new}.db"
        wait_until(  # the replacement has built its app (and so its pool)
            lambda: (
                value(read_alone(new_file, tmp_path / "scratch"), "conduit_db_pool_capacity") == 15
            ),
            "the new worker did not build its app within 30 s",
        )
        samples = scrape(base)
    assert statuses == [404] * REQUEST_COUNT
    assert value(samples, "conduit_db_pool_capacity") == 2 * 15  # not 3 workers' worth
    assert value(samples, REQUESTS, **UNMATCHED_404) == REQUEST_COUNT  # the dead one's too


def test_an_operators_directory_is_emptied_at_start_and_kept_at_exit(tmp_path):
    metrics_dir = tmp_path / "metrics"
    with two_workers(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as base:
        assert status_of(f"{base}/no-such-path") == 404
    first_run = {p.name for p in metrics_dir.iterdir()}
    assert first_run  # kept after the stop: the directory is the operator's

    with two_workers(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as base:
        samples = scrape(base)
        second_run = {p.name for p in metrics_dir.iterdir()}
    assert value(samples, REQUESTS, **UNMATCHED_404) == 0  # nothing carried over
    assert not first_run & second_run


def test_without_a_directory_a_private_one_is_made_and_removed_at_exit(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    with two_workers(tmp_path, TMPDIR=str(temp)) as base:
        assert status_of(f"{base}/no-such-path") == 404
        (private,) = temp.glob("conduit-metrics-*")
        assert private.stat().st_mode & 0o077 == 0  # this user's only
        # Ready means one worker answers; the other may still be starting.
        wait_until(
            lambda: len(pids_with(private, "gauge_livesum")) == 2,
            "both workers did not write in the private directory in 30 s",
        )
        wait_until(lambda: unmatched_total(base) == 1, "the request was not counted in 30 s")
    assert list(temp.glob("conduit-metrics-*")) == []
