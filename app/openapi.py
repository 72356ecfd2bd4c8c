"""flask-smorest wiring: the Api object and the Blueprint class every API blueprint uses.

Errors are formatted only in ``app/errors.py``, so smorest's own catch-all handler is not installed,
and request bodies are parsed by ``app.validation.RequestParser``.

Every error response in the document has the ``ErrorEnvelope`` schema: ``Blueprint.alt_response``
gives it to any 4xx/5xx response declared without a schema, ``Blueprint.documents_errors(...)``
declares several standard ones at once, and every JSON body also documents the 400 it can cause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import flask_smorest
import marshmallow as ma

from app.validation import RequestParser

F = TypeVar("F", bound=Callable[..., Any])

# The contract's error statuses, with the description used when a route declares no other.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed JSON body",
    401: "Missing, invalid or expired token",
    403: "Not the owner of the resource",
    404: "No such resource",
    409: "Already taken",
    422: "Validation failed",
}


# OpenAPI security requirements: a token is required, or optional (anonymous callers allowed).
TOKEN_AUTH: list[dict[str, list[str]]] = [{"Token": []}]
OPTIONAL_TOKEN_AUTH: list[dict[str, list[str]]] = [{}, {"Token": []}]


class ErrorEnvelope(ma.Schema):
    """Every error body: ``{"errors": {"<field or topic>": ["<message>", ...]}}``."""

    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"example": {"email": ["can't be blank"]}},
    )


def _is_error_status(status_code: Any) -> bool:
    try:
        return int(status_code) >= 400
    except (TypeError, ValueError):  # "default", "4XX"...
        return False


class Api(flask_smorest.Api):
    """The OpenAPI document generator, minus smorest's error formatting."""

    ERROR_SCHEMA = ErrorEnvelope

    def _register_error_handlers(self) -> None:
        # app/errors.py owns every error response; smorest's {"code","status"} shape is not ours.
        return None


class Blueprint(flask_smorest.Blueprint):
    """A smorest blueprint that parses bodies with our parser, raises our validation error and
    documents every error response with ``ErrorEnvelope``."""

    ARGUMENTS_PARSER = RequestParser()

    def alt_response(
        self, status_code: Any, response: Any = None, *, schema: Any = None, **kwargs: Any
    ) -> Callable[[F], F]:
        """smorest's ``alt_response``; an error status without a schema gets ``ErrorEnvelope``."""
        if response is None and schema is None and _is_error_status(status_code):
            schema = ErrorEnvelope
        return super().alt_response(status_code, response, schema=schema, **kwargs)

    def documents_errors(self, *status_codes: int) -> Callable[[F], F]:
        """Document error responses with their standard descriptions and ``ErrorEnvelope``:
        ``@blp.documents_errors(401, 403, 404, 422)``. For a specific description use
        ``@blp.alt_response(404, description="No such article")`` instead."""
        unknown = sorted(set(status_codes) - ERROR_DESCRIPTIONS.keys())
        if unknown:
            raise ValueError(f"no standard description for status {unknown}; use alt_response")
        decorators = [
            self.alt_response(code, schema=ErrorEnvelope, description=ERROR_DESCRIPTIONS[code])
            for code in status_codes
        ]

        def decorator(func: F) -> F:
            for document in decorators:
                func = document(func)
            return func

        return decorator

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Callable[[F], F]:
        """smorest's ``arguments``; a JSON body also documents the 400 for malformed JSON."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse
        malformed = self.alt_response(400, description=ERROR_DESCRIPTIONS[400])

        def decorator(func: F) -> F:
            return malformed(parse(func))

        return decorator
