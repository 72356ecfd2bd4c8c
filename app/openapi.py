"""flask-smorest wiring: the Api object and the Blueprint class every API blueprint uses.

Errors are formatted only in ``app/errors.py``, so smorest's own catch-all handler is not installed,
and request bodies are parsed by ``app.validation.RequestParser``.
"""

from __future__ import annotations

import flask_smorest
import marshmallow as ma

from app.validation import RequestParser


class ErrorEnvelope(ma.Schema):
    """Every error body: ``{"errors": {"<field or topic>": ["<message>", ...]}}``."""

    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"example": {"email": ["can't be blank"]}},
    )


class Api(flask_smorest.Api):
    """The OpenAPI document generator, minus smorest's error formatting."""

    ERROR_SCHEMA = ErrorEnvelope

    def _register_error_handlers(self) -> None:
        # app/errors.py owns every error response; smorest's {"code","status"} shape is not ours.
        return None


class Blueprint(flask_smorest.Blueprint):
    """A smorest blueprint that parses bodies with our parser and raises our validation error."""

    ARGUMENTS_PARSER = RequestParser()
