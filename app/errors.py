"""The one exception family and the handlers that turn every error into ``{"errors": {...}}``.

Ours, Werkzeug's HTTP errors, the database driver's and anything unexpected all end here; the
JWT library's failures are mapped in ``app/security/tokens.py`` through its loader callbacks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask, Response, current_app, jsonify
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.observability.sentry import report_exception

log = logging.getLogger(__name__)


def error_response(
    status: int, errors: Mapping[str, list[str]], headers: Mapping[str, str] | None = None
) -> Response:
    """The contract's error envelope; the only way this service writes an error body."""
    response = jsonify({"errors": dict(errors)})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class APIError(Exception):
    """Base of the service's own errors: a status, a key and a message."""

    status_code = 500
    key = "body"
    message = "internal server error"

    def __init__(self, key: str | None = None, message: str | None = None) -> None:
        super().__init__(message or self.message)
        if key is not None:
            self.key = key
        if message is not None:
            self.message = message

    @property
    def errors(self) -> dict[str, list[str]]:
        return {self.key: [self.message]}


class MalformedBody(APIError):
    status_code = 400
    message = "malformed JSON"


class ValidationFailed(APIError):
    status_code = 422

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__(message="validation failed")
        self._errors = {key: list(messages) for key, messages in errors.items()}

    @property
    def errors(self) -> dict[str, list[str]]:
        return self._errors


class Unauthorized(APIError):
    status_code = 401
    key = "token"
    message = "is invalid"


class InvalidCredentials(APIError):
    status_code = 401
    key = "credentials"
    message = "invalid"


class Forbidden(APIError):
    status_code = 403
    message = "forbidden"


class NotFound(APIError):
    status_code = 404
    message = "not found"


class Conflict(APIError):
    status_code = 409
    message = "has already been taken"


class ServiceUnavailable(APIError):
    status_code = 503
    message = "service temporarily unavailable"


# Messages for Werkzeug's HTTP errors, keyed by status; the contract names most of them.
HTTP_MESSAGES = {
    400: "bad request",
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    415: "unsupported media type",
    429: "rate limit exceeded",
}


def handle_api_error(error: APIError) -> Response:
    headers = {}
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(current_app.config["DB_UNAVAILABLE_RETRY_AFTER"])
    return error_response(error.status_code, error.errors, headers)


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return handle_unexpected_error(error)
    key = "rate_limit" if status == 429 else "body"
    message = HTTP_MESSAGES.get(status, (error.name or "error").lower())
    if status == 413:
        message = (
            f"request body too large (limit is {current_app.config['MAX_CONTENT_LENGTH']} bytes)"
        )
    elif status == 429 and error.description:
        message = f"rate limit exceeded: {error.description}"
    response = error_response(status, {key: [message]})
    # Keep headers Werkzeug set for a reason (Allow on 405, Retry-After on 429...).
    for name, value in error.get_headers():
        if name.lower() not in {"content-type", "content-length"}:
            response.headers[name] = value
    return response


def handle_database_unavailable(error: Exception) -> Response:
    """A database that is down, unreachable or saturated is a 503 the client may retry: logged,
    never reported to Sentry as an error (the ERROR line is only a breadcrumb there)."""
    _rollback_quietly()
    log.error("database unavailable: %s", type(error).__name__, exc_info=error)
    return handle_api_error(ServiceUnavailable())


def handle_unexpected_error(error: BaseException) -> Response:
    """Log with traceback and request id, report to Sentry (one event per 500; nothing when
    it is off), roll back, answer a 500 that reveals nothing."""
    _rollback_quietly()
    log.error("unhandled exception: %s", type(error).__name__, exc_info=error)
    report_exception(error)
    return error_response(500, {"body": ["internal server error"]})


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection may be dead already; the error is logged by the caller
        log.warning("session rollback failed after an error", exc_info=True)


def _is_connection_error(error: DBAPIError) -> bool:
    return isinstance(error, OperationalError) or error.connection_invalidated


def handle_dbapi_error(error: DBAPIError) -> Response:
    if _is_connection_error(error):
        return handle_database_unavailable(error)
    return handle_unexpected_error(error)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(APIError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_dbapi_error)
    app.register_error_handler(PoolTimeoutError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected_error)
