"""The request id: the caller's ``X-Request-ID`` when it is sane, else a new one. It is on the
response, on every log record written while the request is served, and (later) on errors."""

from __future__ import annotations

import re
import uuid

from flask import g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")
NONE = "-"  # outside a request (start-up, CLI commands)


def assign_request_id() -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE.fullmatch(incoming) else uuid.uuid4().hex
    return str(g.request_id)


def current_request_id() -> str:
    """The id of the request being served, or ``-`` outside one."""
    return str(g.get("request_id", NONE)) if has_request_context() else NONE
