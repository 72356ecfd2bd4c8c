"""Ctrl-C and SIGTERM stop a backup command cleanly, up to its point of no return.

Before it, a signal raises ``KeyboardInterrupt``: subprocesses are killed and scratch copies
dropped on the way out, and the configured database was never touched. From the moment a
restore starts replacing the live data (one atomic step), a signal is held until the command
has finished, so "interrupted" always means "nothing was changed" and exit 0 means "restored".
Signal handlers are process-wide, so this state is too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_held: list[int] = []
_finishing = threading.Event()
_deferring = [0]  # depth of nested ``deferred()`` blocks


def _handler(signum: int, _frame: FrameType | None) -> None:
    if _finishing.is_set() or _deferring[0]:
        _held.append(signum)
        return
    raise KeyboardInterrupt


@contextmanager
def stoppable_by_signals() -> Iterator[list[int]]:
    """Handle SIGINT and SIGTERM for one command; yields the signals held past its point of no
    return. Outside the main thread (where Python runs handlers) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    previous = {signum: signal.signal(signum, _handler) for signum in STOP_SIGNALS}
    _finishing.clear()
    _held.clear()
    try:
        yield _held
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _finishing.clear()


def point_of_no_return() -> None:
    """From here on the command finishes what it started; a stop signal waits for it."""
    _finishing.set()


@contextmanager
def deferred() -> Iterator[None]:
    """Hold stop signals during a short step that must not be cut in half (creating a scratch
    copy and remembering it, removing one); a signal that came meanwhile stops the command as
    soon as the step is done."""
    _deferring[0] += 1
    try:
        yield
    finally:
        _deferring[0] -= 1
    if not _deferring[0] and _held and not _finishing.is_set():
        _held.clear()
        raise KeyboardInterrupt
