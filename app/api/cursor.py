"""The opaque keyset cursor of article lists (``?before=``, docs/adr/0009).

A cursor names a position in the list order (``created_at`` descending, then ``id``
descending): the position of the last article a client has seen. It is the two keys as text,
``<µs since the epoch>.<id>``, in URL-safe base64 without padding, so clients treat it as a
token and the format can change without breaking anyone who only passes it back.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
from flask import request

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PLAIN = re.compile(r"(-?\d{1,17})\.(\d{1,10})")
MAX_ID = 2**31 - 1  # the ids are 32-bit integers; anything larger is no position
TOKEN_MAX = 40  # base64 of the longest plain form (17 + 1 + 10 characters)


class InvalidCursor(ValueError):
    """Not a cursor this service handed out."""


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: int

    def encode(self) -> str:
        micros = (self.created_at - EPOCH) // timedelta(microseconds=1)
        return base64.urlsafe_b64encode(f"{micros}.{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        if not token or len(token) > TOKEN_MAX:
            raise InvalidCursor(token)
        try:
            padded = token + "=" * (-len(token) % 4)
            plain = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise InvalidCursor(token) from error
        match = _PLAIN.fullmatch(plain)
        if match is None or int(match[2]) > MAX_ID:
            raise InvalidCursor(token)
        try:
            created_at = EPOCH + timedelta(microseconds=int(match[1]))
        except OverflowError as error:
            raise InvalidCursor(token) from error
        return cls(created_at, int(match[2]))


class CursorField(ma.fields.String):
    """A ``before`` query parameter: an opaque cursor from a ``Link: rel="next"`` header."""

    default_error_messages = {"invalid": "is not a valid cursor"}

    def __init__(self, **kwargs: Any) -> None:
        description = (
            'opaque cursor from the previous page\'s `Link: <...>; rel="next"` header: only'
            " articles after that page's last one (keyset pagination; `offset` then counts"
            " from there)"
        )
        super().__init__(metadata={"description": description}, **kwargs)

    def json_schema_rules(self) -> dict[str, Any]:
        """What ``Cursor.decode`` accepts at most, for the OpenAPI document."""
        return {"maxLength": TOKEN_MAX, "pattern": "^[A-Za-z0-9_-]+$"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Cursor:
        token = super()._deserialize(value, attr, data, **kwargs)
        try:
            return Cursor.decode(token)
        except InvalidCursor as error:
            raise self.make_error("invalid") from error


def next_link(last: Cursor) -> str:
    """``Link: <...>; rel="next"`` (RFC 8288) for the page after ``last``: this request's URL
    with the same filters and ``limit``, ``before`` set to ``last`` and no ``offset``."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("before", "offset")]
    query = urlencode([*args, ("before", last.encode())])
    return f'<{request.path}?{query}>; rel="next"'
