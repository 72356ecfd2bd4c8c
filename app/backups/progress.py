"""A progress line on a terminal for long runs; silent when stderr is a file or a pipe (cron)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

MIN_INTERVAL = 0.25  # seconds between redraws


def human_size(size: float) -> str:
    if size < 1024:
        return f"{size:.0f} B"
    for unit in ("KiB", "MiB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} GiB"


class Progress:
    """``label: 12.3 MiB`` (or ``45% of 27.0 MiB`` when the total is known), redrawn in place."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self._drawn_at = 0.0

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if self.enabled and now - self._drawn_at >= MIN_INTERVAL:
            self._draw()
            self._drawn_at = now

    def advance(self, amount: int) -> None:
        """For callbacks that report increments (boto3's transfer callback)."""
        self.update(self.done + amount)

    def finish(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if self.total:
            percent = min(100, self.done * 100 // self.total)
            text = f"{self.label}: {percent}% of {human_size(self.total)}"
        else:
            text = f"{self.label}: {human_size(self.done)}"
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
