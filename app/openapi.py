"""flask-smorest wiring: each app's ``Api`` (the OpenAPI document) and the Blueprint class every
API blueprint uses.

Errors are formatted only in ``app/errors.py`` (smorest's HTTP error handler hands over to it),
and request bodies are parsed by ``app.validation.RequestParser``.

Every error response in the document has the ``ErrorEnvelope`` schema: ``Blueprint.alt_response``
gives it to any 4xx/5xx response declared without a schema, and every JSON body also documents
the 400 and 413 it can cause. There is no blanket ``default`` response: each operation lists the
statuses it can answer (its own, plus its blueprint's ``shared_errors``), so a client or a fuzzer
can tell an undocumented status from a documented one. Each operation's ``operationId`` is its
view's name, which the OpenAPI ``links`` (``app/links.py``) refer to.

``Blueprint.requires_token()`` and ``optional_token()`` check the token and document it (security
requirement and 401) in one decorator, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import flask_smorest
import marshmallow as ma
from flask import Flask, Response
from flask_jwt_extended import jwt_required
from werkzeug.exceptions import HTTPException

from app.errors import handle_http_exception
from app.validation import RequestParser

F = TypeVar("F", bound=Callable[..., Any])

MALFORMED_BODY = "Malformed JSON body"
BODY_TOO_LARGE = "Body larger than MAX_CONTENT_LENGTH"
# Statuses an operation can answer whatever it does (``Blueprint(shared_errors=...)``).
UNEXPECTED_ERROR = (500, "Unexpected error (a bug; the body reveals nothing)")
RATE_LIMITED = (429, "Rate limit exceeded (with Retry-After)")
DATABASE_UNAVAILABLE = (503, "Database unavailable (with Retry-After)")
# Descriptions of the 401 that a token check documents (not secrets).
TOKEN_REFUSED = "Missing, invalid or expired token, or an ended session"  # noqa: S105
OPTIONAL_TOKEN_REFUSED = "Invalid or expired token, or an ended session (none is fine)"  # noqa: S105

# OpenAPI security requirements: a token is required, or optional (anonymous callers allowed).
TOKEN_AUTH: list[dict[str, list[str]]] = [{"Token": []}]
OPTIONAL_TOKEN_AUTH: list[dict[str, list[str]]] = [{}, {"Token": []}]
TOKEN_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "Authorization",
    "description": "`Token <jwt>` (or `Bearer <jwt>`)",
}


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


def _field_rules(_converter: Any, field: ma.fields.Field, **_kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: the rules a field enforces itself (``Text``, ``TagList``
    have ``json_schema_rules``) go into its JSON Schema."""
    rules = getattr(field, "json_schema_rules", None)
    return rules() if callable(rules) else {}


class Api(flask_smorest.Api):
    """The OpenAPI document generator; its error responses are the contract's, not smorest's."""

    ERROR_SCHEMA = ErrorEnvelope
    DEFAULT_ERROR_RESPONSE_NAME = None  # no blanket "default": see the module's docstring

    def handle_http_exception(self, error: HTTPException) -> Response:
        """smorest registers this for every HTTP error; app/errors.py writes the answer, in
        the contract's ``{"errors": ...}`` shape instead of smorest's ``{"code", "status"}``."""
        return handle_http_exception(error)


def create_api(app: Flask) -> Api:
    """This app's own ``Api``: smorest keeps the document on the instance, so one shared by
    every ``create_app()`` would collect every app's routes."""
    api = Api(app)
    api.spec.components.security_scheme("Token", TOKEN_SCHEME)
    api.ma_plugin.converter.add_attribute_function(_field_rules)
    return api


class Blueprint(flask_smorest.Blueprint):
    """A smorest blueprint that parses bodies with our parser, raises our validation error,
    documents every error response with ``ErrorEnvelope``, and checks tokens."""

    ARGUMENTS_PARSER = RequestParser()

    def __init__(
        self,
        *args: Any,
        shared_errors: Sequence[tuple[int, str]] = (),
        links: Mapping[str, Mapping[int, Mapping[str, Any]]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``shared_errors``: (status, description) every operation of the blueprint can answer
        besides ``UNEXPECTED_ERROR`` (rate limits, the database). ``links``: view name → status
        → OpenAPI links of that response (``app/links.py``)."""
        super().__init__(*args, **kwargs)
        self.shared_errors = (UNEXPECTED_ERROR, *shared_errors)
        self.links = links or {}

    def route(self, rule: str, **options: Any) -> Callable[[F], F]:
        """smorest's ``route``; names the operation after its view (``operationId``), documents
        the blueprint's shared errors and the view's links."""
        register = super().route(rule, **options)

        def decorator(func: F) -> F:
            name = options.get("endpoint") or func.__name__
            view = self.doc(operationId=name)(func)
            for status, links in self.links.get(name, {}).items():
                view = self.doc(responses={status: {"links": dict(links)}})(view)
            for status, description in self.shared_errors:
                view = self.alt_response(status, description=description)(view)
            register(view)
            return view

        return decorator

    def alt_response(
        self, status_code: Any, response: Any = None, *, schema: Any = None, **kwargs: Any
    ) -> Callable[[F], F]:
        """smorest's ``alt_response``; an error status without a schema gets ``ErrorEnvelope``."""
        if response is None and schema is None and _is_error_status(status_code):
            schema = ErrorEnvelope
        return super().alt_response(status_code, response, schema=schema, **kwargs)

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Callable[[F], F]:
        """smorest's ``arguments``; a JSON body also documents the 400 for malformed JSON."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse
        malformed = self.alt_response(400, description=MALFORMED_BODY)
        too_large = self.alt_response(413, description=BODY_TOO_LARGE)

        def decorator(func: F) -> F:
            return too_large(malformed(parse(func)))

        return decorator

    def requires_token(
        self, *, refresh: bool = False, description: str = TOKEN_REFUSED
    ) -> Callable[[F], F]:
        """The view needs a valid access token (``refresh=True``: a refresh token): checked
        before anything else, declared as the ``Token`` security requirement, 401 documented.
        Put it right under ``@blp.route``."""
        return self._token(jwt_required(refresh=refresh), TOKEN_AUTH, description)

    def optional_token(self, *, description: str = OPTIONAL_TOKEN_REFUSED) -> Callable[[F], F]:
        """The view serves anonymous callers too; a token that is sent must be valid (else
        401), and the view then knows its user. Put it right under ``@blp.route``."""
        return self._token(jwt_required(optional=True), OPTIONAL_TOKEN_AUTH, description)

    def _token(
        self, check: Callable[[F], F], security: list[dict[str, list[str]]], description: str
    ) -> Callable[[F], F]:
        document = self.alt_response(401, description=description)
        declare = self.doc(security=security)

        def decorator(func: F) -> F:
            return declare(document(check(func)))

        return decorator
