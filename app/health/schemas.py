"""Shapes of the health responses, for the OpenAPI document only: the views build their bodies
with ``jsonify`` and flask-smorest passes those responses through unchanged."""

from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import OneOf


class HealthPing(ma.Schema):
    status = ma.fields.String(required=True, validate=OneOf(["ok"]))


class HealthReadiness(ma.Schema):
    status = ma.fields.String(required=True, validate=OneOf(["ok", "unavailable"]))


class HealthMigrations(ma.Schema):
    current = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "null: never migrated"}
    )
    head = ma.fields.String(required=True, allow_none=True)
    up_to_date = ma.fields.Boolean(required=True)


class HealthDatabaseCheck(ma.Schema):
    status = ma.fields.String(required=True, validate=OneOf(["ok", "down"]))
    latency_ms = ma.fields.Float(required=True, allow_none=True)
    error = ma.fields.String(
        validate=OneOf(["timeout", "unreachable"]), metadata={"description": "when down"}
    )
    migrations = ma.fields.Nested(HealthMigrations, metadata={"description": "when ok"})


class HealthRedisCheck(ma.Schema):
    status = ma.fields.String(required=True, validate=OneOf(["ok", "down", "not configured"]))
    latency_ms = ma.fields.Float(required=True, allow_none=True)


class HealthChecks(ma.Schema):
    database = ma.fields.Nested(HealthDatabaseCheck, required=True)
    redis = ma.fields.Nested(HealthRedisCheck, required=True)


class HealthDetailed(ma.Schema):
    status = ma.fields.String(required=True, validate=OneOf(["ok", "degraded", "unavailable"]))
    version = ma.fields.String(required=True)
    environment = ma.fields.String(required=True)
    uptime_seconds = ma.fields.Float(required=True)
    checks = ma.fields.Nested(HealthChecks, required=True)
