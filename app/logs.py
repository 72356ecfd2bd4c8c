"""Logging: JSON lines (production) or readable text, a request id on every record, and
redaction so that passwords, tokens, Authorization headers and SQL never reach a log line."""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

# The one redaction list, shared with the error reports (app/observability/sentry.py);
# REDACTED and redact are also this module's public names.
from app.redaction import REDACTED as REDACTED
from app.redaction import redact, redact_value
from app.request_id import current_request_id

HANDLER_NAME = "app"


class RedactingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter with every value passed through ``redact``."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: redact_value(key, value) for key, value in log_data.items()}


class RedactingTextFormatter(logging.Formatter):
    """Readable single-line-per-record text for development, redacted like the JSON form."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (pytest's capture swaps it per test)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _install_request_id_factory() -> None:
    """Give every record a ``request_id`` attribute, whoever created it and whatever handles it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def build_formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return RedactingJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "asctime": "time", "name": "logger"},
        )
    return RedactingTextFormatter(
        "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
    )


def configure_logging(app: Flask) -> None:
    """Install (or replace) the app's one root handler; other handlers are left alone."""
    _install_request_id_factory()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(build_formatter(app.config["LOG_FORMAT"]))
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # Werkzeug's own access line would duplicate app.request's; SQL echo stays opt-in.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # The AWS SDK's debug records hold request headers (the access key id) and retry tracebacks.
    for name in ("boto3", "botocore", "s3transfer", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
