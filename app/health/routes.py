"""Health endpoints: /ping (process alive), /health (database), /health/detailed (operators)."""

from __future__ import annotations

import time

from flask import Response, current_app, jsonify

from app.health.checks import check_database, check_redis
from app.health.schemas import HealthDetailed, HealthPing, HealthReadiness
from app.openapi import Blueprint

# A smorest blueprint only so that the probes are in the OpenAPI document: each view returns a
# ready Response, which smorest passes through untouched. No url_prefix: they live outside /api.
bp = Blueprint("health", __name__, description="Probes for load balancers and operators")
_STARTED = time.monotonic()


@bp.get("/ping")
@bp.response(200, HealthPing, description="The process is alive")
def ping() -> Response:
    """Liveness: answers without touching any dependency."""
    return jsonify(status="ok")


@bp.get("/health")
@bp.response(200, HealthReadiness, description="The database answers")
@bp.alt_response(503, schema=HealthReadiness, description="The database did not answer in time")
def health() -> tuple[Response, int]:
    """Readiness: 200 when the database answers a bounded ``SELECT 1``, else 503."""
    database = check_database()
    if database.status == "ok":
        return jsonify(status="ok"), 200
    return jsonify(status="unavailable"), 503


@bp.get("/health/detailed")
@bp.response(200, HealthDetailed, description="Ready; Redis may be down (status: degraded)")
@bp.alt_response(503, schema=HealthDetailed, description="The database is down")
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
        "version": current_app.config["APP_VERSION"],
        "environment": current_app.config["APP_ENV"],
        "uptime_seconds": round(time.monotonic() - _STARTED, 1),
        "checks": {"database": database.as_dict(), "redis": cache.as_dict()},
    }
    return jsonify(body), code
