"""What counts as a secret, and how it is blanked out: one list for the logs (``app/logs.py``) and
the error reports (``app/observability/sentry.py``), so the two can never disagree.

- ``redact(text)``: secret-looking parts of free text (Authorization values, ``password=``,
  JWTs, argon2 hashes, credentials in URLs, SQL inside database errors).
- ``redact_value(key, value)``: a value under a sensitive key is blanked whole; anything else is
  walked (dicts, lists) and its strings go through ``redact``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

REDACTED = "[REDACTED]"

# (needles, pattern, replacement): the pattern runs only on text that contains one of its
# needles (in lower case; each pattern's match contains one): a substring test is far cheaper
# than a regex scan, and most strings (every field of every log line) contain none.
_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str], str]] = [
    # Authorization headers in any rendering: "Authorization: Token x", {'Authorization': 'x'}.
    (
        ("authorization",),
        re.compile(
            r"""(authorization['"]?\s*[:=]\s*['"]?)(?:(?:token|bearer|basic)\s+)?[^\s'",}]+""", re.I
        ),
        r"\1" + REDACTED,
    ),
    # Secret-looking keys in JSON, reprs and query strings: "password": "x", password=x.
    # A quoted value is blanked up to its closing quote, so passwords with spaces go whole.
    (
        ("password", "passwd", "secret", "token", "api_key"),
        re.compile(
            r"""((?:password|passwd|secret|token|refreshToken|api_key)['"]?\s*[:=]\s*)"""
            r"""(?:(")(?:[^"\\]|\\.)*"|(')(?:[^'\\]|\\.)*'|[^\s'",}&]+)""",
            re.I,
        ),
        r"\1\2\3" + REDACTED + r"\2\3",
    ),
    # Bare JWTs anywhere (three base64url parts, the first a JSON header).
    (("eyj",), re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # Password hashes.
    (("$argon2",), re.compile(r"\$argon2[a-z]*\$[^\s'\"]+"), REDACTED),
    # Credentials inside URLs: scheme://user:password@host.
    (("://",), re.compile(r"(://[^:/\s@]*:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
    # SQL inside database errors: SQLAlchemy's "[SQL: <statement>]" block and the server's
    # "LINE n: <statement>" excerpt. The error class, its message and the traceback's frames
    # stay, which is what an operator needs; the statements are in the code.
    (
        ("[sql: ",),
        re.compile(
            r"\[SQL: .*?\](?=\n\[SQL parameters|\n\(Background on this error|\n\n|\Z)", re.S
        ),
        "[SQL: hidden]",
    ),
    (("line ",), re.compile(r"^(LINE \d+: ).*$", re.M), r"\1[SQL hidden]"),
]

# A key whose name contains one of these (case and "-"/"_" ignored) holds a secret: password,
# new_password, refreshToken, refresh_token, Authorization, HTTP_COOKIE, Set-Cookie,
# X-Api-Key, JWT_SECRET_KEY...
SENSITIVE_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "apikey",
)


# Any needle at all: one scan of the text in C decides whether a pattern has to run, which for
# nearly every log field (a method, a path, a number) none has.
_ANY_NEEDLE = re.compile(
    "|".join(re.escape(needle) for needles, _p, _r in _PATTERNS for needle in needles), re.I
)


@lru_cache(maxsize=1024)  # log records and error reports use a small, fixed set of keys
def is_sensitive_key(key: str) -> bool:
    """True if a value stored under ``key`` is a secret and must be blanked whole."""
    name = key.lower().replace("-", "").replace("_", "")
    return any(part in name for part in SENSITIVE_KEY_PARTS)


def redact(text: str) -> str:
    """Replace every secret-looking part of ``text`` with ``[REDACTED]``."""
    if not _ANY_NEEDLE.search(text):
        return text
    lowered = text.lower()  # the replacements add no needle, so one lowering serves all
    for needles, pattern, replacement in _PATTERNS:
        if any(needle in lowered for needle in needles):
            text = pattern.sub(replacement, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    """``value`` (found under ``key``) with every secret in it blanked, at any depth: dicts and
    lists are copied, strings pass through ``redact``, other values are returned as they are."""
    if value is None:
        return None
    if is_sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v) for v in value]
    return value
