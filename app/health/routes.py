"""Health endpoints: /ping (process alive), /health (database), /health/detailed (operators)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify

from app import __version__
from app.health.checks import check_database, check_redis

bp = Blueprint("health", __name__)
_STARTED = time.monotonic()


@bp.get("/ping")
def ping() -> Response:
    """Liveness: answers without touching any dependency."""
    return jsonify(status="ok")


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Readiness: 200 when the database answers a bounded ``SELECT 1``, else 503."""
    database = check_database()
    if database.status == "ok":
        return jsonify(status="ok"), 200
    return jsonify(status="unavailable"), 503


@bp.get("/health/detailed")
def health_detailed() -> tuple[Response, int]:
    """Per-dependency status and latency; Redis down degrades, only the database fails."""
    database = check_database(with_schema=True)
    cache = check_redis()
    if database.status != "ok":
        status, code = "unavailable", 503
    elif cache.status == "down":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {
        "status": status,
        "version": current_app.config["APP_VERSION"] or __version__,
        "environment": current_app.config["APP_ENV"],
        "uptime_seconds": round(time.monotonic() - _STARTED, 1),
        "checks": {"database": database.as_dict(), "redis": cache.as_dict()},
    }
    return jsonify(body), code
