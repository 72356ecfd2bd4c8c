"""Error reports to Sentry: one event per unhandled error (a 500), tagged with the request id and
the user's id, every secret blanked by the same list as the logs (``app/redaction.py``).

**Off unless ``SENTRY_DSN`` is set.** Without it ``configure_sentry`` returns before touching the
SDK (no ``sentry_sdk.init``, nothing patched, no request pays anything) and ``report_exception``
returns at once.

**Which errors become events.** ``app/errors.py`` answers every error itself, so Flask never
sees one as unhandled and FlaskIntegration reports nothing on its own. Instead:

- ``handle_unexpected_error`` calls ``report_exception``: exactly one event per 500.
- ``LoggingIntegration(event_level=None)``: log records become breadcrumbs, never events, so
  the 500's "unhandled exception" line adds no second event and the 503 "database
  unavailable" line (a 503 the client may retry) none at all. 4xx and 429 are never reported.
- An exception Flask cannot hand to a handler (raised by an ``after_request`` hook) is
  reported by FlaskIntegration (``got_request_exception``); Flask then calls our 500 handler
  with an ``InternalServerError`` wrapping that same exception, which ``report_exception``
  unwraps, so the SDK's DedupeIntegration drops the repeat.

**One SDK per process.** ``sentry_sdk.init`` installs one client for the whole process, and
``create_app`` may run several times in one (tests). ``configure_sentry`` keeps the active
client when it was made with the same settings, and otherwise flushes and closes it and
initialises a new one: the last app built with a DSN reports for the process. An app without a
DSN leaves the SDK alone. In production there is one app per gunicorn worker, built after the
fork, so each worker has its own client; tests switch the SDK off after themselves.

**Cost.** Tags and scrubbing run in ``before_send``, when an event is built, so a request that
fails nothing pays only FlaskIntegration's per-request scope (its own isolation scope, request
session and trace context): about 0.15 ms on ``GET /ping`` and 0.3 ms on ``GET /api/tags``,
measured through the WSGI app on the shared 2-core machine; with Sentry off, nothing. Events
are sent by the SDK's background thread: an unreachable Sentry never delays a request, and a
worker's exit waits at most ``SHUTDOWN_TIMEOUT`` for events still queued.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sentry_sdk
from flask import Flask, g, has_request_context
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from werkzeug.exceptions import InternalServerError

from app.redaction import redact_value
from app.request_id import current_request_id

# Seconds a process's exit waits for queued events (the SDK's default is 2): a gunicorn worker
# stopping or restarting is not held up long by an unreachable Sentry.
SHUTDOWN_TIMEOUT = 1.0
REQUEST_ID_TAG = "request_id"
# The options that tell whether the active client is the one this app's settings would make.
_IDENTITY = (
    "dsn",
    "environment",
    "release",
    "traces_sample_rate",
    "profiles_sample_rate",
    "before_send",
)


def configure_sentry(app: Flask) -> None:
    """Report this app's unhandled errors to ``SENTRY_DSN``; nothing at all when it is empty."""
    if not app.config["SENTRY_DSN"]:
        return
    options = sentry_options(app.config)
    client = sentry_sdk.get_client()
    if client.is_active():
        if all(client.options.get(name) == options[name] for name in _IDENTITY):
            return  # the same settings: another app of this process already set it up
        client.close(timeout=SHUTDOWN_TIMEOUT)  # its queued events go out first
    sentry_sdk.init(**options)


def sentry_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``sentry_sdk.init`` options for an app's config."""
    tracing = config["SENTRY_TRACES_SAMPLE_RATE"] > 0
    return {
        "dsn": config["SENTRY_DSN"],
        "environment": config["APP_ENV"],
        "release": config["APP_VERSION"],
        # 0 means off (None), not "sample none": with 0 the SDK would still continue the
        # traces of callers sending a sampled ``sentry-trace`` header, at their choice.
        "traces_sample_rate": config["SENTRY_TRACES_SAMPLE_RATE"] or None,
        "profiles_sample_rate": config["SENTRY_PROFILES_SAMPLE_RATE"] or None,
        # The SQLAlchemy, Redis and boto3 integrations (the SDK enables them when it finds the
        # package) make the spans of a trace. Without tracing they would only add every SQL
        # statement as a breadcrumb (SQL stays out of the reports as it stays out of the logs)
        # and cost about 0.15 ms per request that queries the database.
        "auto_enabling_integrations": tracing,
        # send_default_pii is left unset, which the SDK takes as False (no user, cookies or
        # client IP collected); sentry-sdk 2.75 deprecates passing it (a DeprecationWarning).
        "shutdown_timeout": SHUTDOWN_TIMEOUT,
        "integrations": [
            FlaskIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=None),  # breadcrumbs only
        ],
        "before_send": before_send,
        "before_send_transaction": before_send_transaction,
    }


def report_exception(error: BaseException) -> None:
    """Send ``error`` to Sentry as one event; a no-op when Sentry is off (the SDK would still
    build the event, frames and all, before dropping it)."""
    if not sentry_sdk.is_initialized():
        return
    if isinstance(error, InternalServerError) and error.original_exception is not None:
        error = error.original_exception  # the one FlaskIntegration may have reported already
    sentry_sdk.capture_exception(error)


def before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    """Every error event: secrets blanked, then the request's id and user id added."""
    scrubbed = scrub(event)
    if has_request_context():  # the event is built in the thread serving the request
        scrubbed.setdefault("tags", {})[REQUEST_ID_TAG] = current_request_id()
        user_id = g.get("user_id")  # set once the token's user is loaded (security/tokens.py)
        if user_id is not None:
            scrubbed["user"] = {"id": str(user_id)}  # the id only: never email or username
    return scrubbed


def before_send_transaction(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    """Every transaction (with SENTRY_TRACES_SAMPLE_RATE): secrets blanked. It is sent after the
    request has ended, so it carries no request id."""
    return scrub(event)


def scrub(event: dict[str, Any]) -> dict[str, Any]:
    """The event with every value under a sensitive key blanked and every string redacted, at
    any depth: request body, headers, cookies and query string, breadcrumbs, extra, contexts,
    exception messages and the frames' local variables. ``_meta`` is the SDK's own notes on
    what it trimmed or filtered (no values): blanking its keys would break its shape."""
    return {
        key: value if key == "_meta" else redact_value(key, value) for key, value in event.items()
    }
