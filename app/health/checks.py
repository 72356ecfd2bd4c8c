"""Dependency checks for the health endpoints: bounded in time, never raising, never
revealing a DSN, host name or secret."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import Flask, current_app
from sqlalchemy import text

from app.extensions import db
from app.schema import migration_head

log = logging.getLogger(__name__)

# Database checks run in a worker thread so the probe answers by its deadline even when the
# database hangs. A check that times out is abandoned with its executor, so one stuck
# connection cannot keep later probes failing after the database is back.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-check")


@dataclass
class CheckResult:
    status: str
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "latency_ms": self.latency_ms, **self.details}


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _run_bounded(app: Flask, work: Any, timeout: float) -> Any:
    def in_context() -> Any:
        with app.app_context():
            try:
                return work()
            finally:
                db.session.remove()

    global _executor
    future = _executor.submit(in_context)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        stuck, _executor = _executor, ThreadPoolExecutor(1, thread_name_prefix="health-check")
        stuck.shutdown(wait=False, cancel_futures=True)
        raise


def _select_one() -> None:
    db.session.execute(text("SELECT 1"))


def _schema_revision() -> str | None:
    row = db.session.execute(text("SELECT version_num FROM alembic_version")).first()
    return row[0] if row else None


def check_database(with_schema: bool = False) -> CheckResult:
    """``SELECT 1`` within ``HEALTH_CHECK_TIMEOUT`` seconds; optionally the schema revision."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    timeout = app.config["HEALTH_CHECK_TIMEOUT"]
    started = time.perf_counter()
    try:
        _run_bounded(app, _select_one, timeout)
    except FutureTimeout:
        log.warning("database health check timed out after %ss", timeout)
        return CheckResult("down", _elapsed_ms(started), {"error": "timeout"})
    except Exception as exc:  # any driver error means "down"; its text may name hosts
        log.warning("database health check failed: %s", type(exc).__name__)
        return CheckResult("down", _elapsed_ms(started), {"error": "unreachable"})
    result = CheckResult("ok", _elapsed_ms(started))
    if with_schema:
        result.details["migrations"] = _check_schema(app, timeout)
    return result


def _check_schema(app: Flask, timeout: float) -> dict[str, Any]:
    head = migration_head()
    try:
        current = _run_bounded(app, _schema_revision, timeout)
    except Exception:  # no alembic_version table yet: the schema was never migrated
        current = None
    return {"current": current, "head": head, "up_to_date": current is not None and current == head}


def check_redis() -> CheckResult:
    """``PING`` with short socket timeouts; ``not configured`` when there is no ``REDIS_URL``."""
    url = current_app.config["REDIS_URL"]
    if not url:
        return CheckResult("not configured")
    timeout = current_app.config["REDIS_SOCKET_TIMEOUT"]
    started = time.perf_counter()
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        log.warning("redis health check failed: %s", type(exc).__name__)
        return CheckResult("down", _elapsed_ms(started))
    return CheckResult("ok", _elapsed_ms(started))
