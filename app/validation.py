"""Request parsing and validation: the fields every schema builds on, and the one place that
turns marshmallow/webargs failures into the contract's ``{"errors": {field: [...]}}`` shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import MalformedBody, ValidationFailed

BLANK = "can't be blank"


class RequestSchema(ma.Schema):
    """Base for request bodies: unknown keys are ignored, because real SPA clients send back whole
    objects (e.g. the user with its token) on update."""

    class Meta:
        unknown = ma.EXCLUDE

    error_messages = {"type": "must be a JSON object"}


def envelope(schema: type[ma.Schema], **kwargs: Any) -> ma.fields.Nested:
    """The resource wrapper (``{"user": {...}}``, ``{"article": ...}``); missing or null means
    "can't be blank"."""
    return ma.fields.Nested(
        schema,
        required=True,
        error_messages={"required": BLANK, "null": BLANK, "type": "must be an object"},
        **kwargs,
    )


# What ``str.strip()`` (so "blank") and Python's ``\s`` count as whitespace, spelled out: an
# exported JSON Schema pattern must mean the same to every client; ECMA's ``\s`` is another set.
WHITESPACE = (
    r"\t\n\u000b\u000c\r\u001c-\u001f\u0020\u0085\u00a0\u1680\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000"
)
NUL = r"\u0000"
# Patterns of the OpenAPI document (and, where a field names one, of its own check):
# any text without NUL, and text that is more than whitespace.
ANY_TEXT = rf"^[^{NUL}]*$"
NOT_BLANK_TEXT = rf"^[^{NUL}]*[^{NUL}{WHITESPACE}][^{NUL}]*$"


def _reject_nul(value: str) -> None:
    if "\x00" in value:
        raise ma.ValidationError("must not contain NUL bytes")


class Text(ma.fields.String):
    """A string field: strings only, no NUL bytes, bounded length, blank means missing.

    ``required`` and ``null`` both report "can't be blank", as the contract wants.
    """

    default_error_messages = {
        "required": BLANK,
        "null": BLANK,
        "invalid": "must be a string",
        "invalid_utf8": "must be valid UTF-8",
    }

    def __init__(
        self,
        *,
        max_length: int,
        min_length: int = 0,
        allow_blank: bool = False,
        pattern: str | None = None,
        **kwargs: Any,
    ) -> None:
        """``pattern``: the JSON Schema pattern of a stricter format that a ``validate`` function
        of the field checks (it must exclude NUL and blanks too); it is only documented here."""
        super().__init__(**kwargs)
        self.max_length = max_length
        self.min_length = min_length
        self.allow_blank = allow_blank
        self.pattern = pattern

    def json_schema_rules(self) -> dict[str, Any]:
        """What ``_deserialize`` enforces, as JSON Schema keywords for the OpenAPI document."""
        min_length = self.min_length if self.allow_blank else max(self.min_length, 1)
        rules: dict[str, Any] = {"maxLength": self.max_length}
        if min_length:
            rules["minLength"] = min_length
        rules["pattern"] = self.pattern or (ANY_TEXT if self.allow_blank else NOT_BLANK_TEXT)
        return rules

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):  # marshmallow would accept bytes; JSON never sends them
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        _reject_nul(result)
        # Before the blank check: a blank value may be allowed, an overlong one never is.
        if len(result) > self.max_length:
            raise ma.ValidationError(f"is too long (maximum is {self.max_length} characters)")
        if not result.strip():
            if self.allow_blank:
                return result
            raise ma.ValidationError(BLANK)
        if len(result) < self.min_length:
            raise ma.ValidationError(f"is too short (minimum is {self.min_length} characters)")
        return result


def flatten_errors(messages: Any, key: str | None = None) -> dict[str, list[str]]:
    """Flatten marshmallow's nested messages to ``{field: [message, ...]}``.

    The envelope (``user``, ``article``), the location (``json``, ``querystring``) and list indexes
    disappear; schema-level errors (wrong JSON type) are reported under ``body``.
    """
    result: dict[str, list[str]] = {}

    def walk(node: Any, field: str | None) -> None:
        if isinstance(node, Mapping):
            for name, child in node.items():
                if name == "_schema" or (field is None and name in LOCATIONS):
                    walk(child, "body" if name == "_schema" else None)
                elif isinstance(name, int):
                    walk(child, field)
                else:
                    walk(child, str(name))
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, field)
        else:
            result.setdefault(field or "body", []).append(str(node))

    walk(messages, key)
    return result


LOCATIONS = frozenset({"json", "querystring", "query", "view_args", "path", "form", "headers"})


def _streamed_past_limit(req: Any, size: int) -> bool:
    """Werkzeug cuts a streamed (chunked) body at MAX_CONTENT_LENGTH without an error; a byte
    left over after the limit means the body was too large."""
    limit = req.max_content_length
    if req.content_length is not None or limit is None or size < limit:
        return False
    return bool(req.environ["wsgi.input"].read(1))


class RequestParser(FlaskParser):
    """webargs parser that reads JSON whatever the Content-Type and raises our own errors."""

    DEFAULT_VALIDATION_STATUS = 422

    def _raw_load_json(self, req: Any) -> Any:
        data = req.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH (413 before reading)
        if _streamed_past_limit(req, len(data)):
            raise RequestEntityTooLarge()
        if not data.strip():
            return core.missing
        try:
            return json.loads(data)
        except RecursionError:
            raise MalformedBody(message="JSON is nested too deeply") from None
        except ValueError:  # e.g. an integer literal over Python's 4300-digit limit
            raise MalformedBody(message="malformed JSON") from None

    def _handle_invalid_json_error(self, error: Exception, req: Any, *args: Any, **kw: Any) -> Any:
        raise MalformedBody(message="malformed JSON")

    def handle_error(
        self, error: ma.ValidationError, req: Any, schema: ma.Schema, **kw: Any
    ) -> Any:
        raise ValidationFailed(flatten_errors(error.messages))
