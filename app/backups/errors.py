"""The one error of the backup system: a message an operator can act on, in one line."""

from __future__ import annotations


class BackupError(Exception):
    """A backup operation failed or was refused. The message is one line, names what failed and
    never contains a secret; the CLI prints it and exits non-zero, without a traceback."""


def first_line(text: str) -> str:
    """The first non-empty line of a tool's or driver's message, stripped."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return text.strip()
