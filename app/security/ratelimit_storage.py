"""Rate-limit storage that survives Redis outages: Redis first, per-process memory meanwhile.

Flask-Limiter's own fallback (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``) treats *any* exception as
a dead storage, logs an ERROR with a traceback for every request that races the switch (threaded
workers) and re-checks Redis on a clock that starts when the process starts. Failing over below
the strategy instead means the limiter never sees a storage error at all:

- the first failed Redis call (refused, reset, or a timeout on a hung server) switches the process
  to memory, and that call is answered from memory, so the request is still limited;
- exactly one WARNING per outage (no traceback: the cause's type is enough to act on);
- while down, Redis is probed with a doubling back-off (1, 2, 4 ... 32 s); only one thread
  probes, the others keep answering from memory without waiting;
- the probes do not wait for traffic: a background thread (one per outage) makes any that no
  request made, so a worker that gets no limited request still switches back and its gauge
  does not stay at 1 (the fault drill once saw an idle worker report an outage long over);
- the first successful probe switches back (INFO): counters are shared across workers again;
- ``conduit_rate_limit_fallback`` is 1 from the switch to memory until the switch back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from limits.errors import ConfigurationError
from limits.storage import (
    MemoryStorage,
    MovingWindowSupport,
    RedisStorage,
    SlidingWindowCounterSupport,
    Storage,
    storage_from_string,
)

from app.observability.metrics import set_rate_limit_fallback
from app.security.ratelimit_window import acquirer_for, remembered_window

log = logging.getLogger(__name__)

SCHEME_PREFIX = "failover+"


class FailoverStorage(Storage, MovingWindowSupport, SlidingWindowCounterSupport):
    """Delegates to ``primary`` (Redis) and to a ``MemoryStorage`` while ``primary`` fails.

    Chosen by its storage URI, ``failover+redis://...`` (``config.py`` builds it from
    ``REDIS_URL``): the ``limits`` package registers every storage class under the schemes it
    declares, so Flask-Limiter builds this one from ``RATELIMIT_STORAGE_URI`` itself, and the
    rest of the URI and the storage options go to the Redis storage inside.
    """

    STORAGE_SCHEME = [SCHEME_PREFIX + scheme for scheme in RedisStorage.STORAGE_SCHEME]
    RETRY_FIRST = 1.0  # seconds from the failure to the first probe
    RETRY_MAX = 32.0  # the back-off doubles up to this (Flask-Limiter's own cap)
    # A failure this soon after recovering is the same outage: logged at INFO, back-off kept.
    FLAP_WINDOW = 60.0
    PROBER_TICK = 0.25  # seconds between the background prober's looks at the schedule

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        primary: Storage | None = None,
        clock: Callable[[], float] = time.monotonic,
        probe_in_background: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if primary is None:
            if not uri or not uri.startswith(SCHEME_PREFIX):
                raise ConfigurationError(f"FailoverStorage needs a {SCHEME_PREFIX}redis:// URI")
            primary = storage_from_string(uri.removeprefix(SCHEME_PREFIX), **options)
        self.primary = primary
        self.fallback = MemoryStorage()
        self._acquirer = acquirer_for(primary)  # Redis: the hit also reads the window
        self._clock = clock
        self._lock = threading.Lock()
        self._down = False
        self._down_since = 0.0
        self._recovered_at: float | None = None
        self._retry_in = self.RETRY_FIRST
        self._next_probe = 0.0
        self._probe_in_background = probe_in_background
        self._prober: threading.Thread | None = None

    # State -------------------------------------------------------------------------------------
    @property
    def degraded(self) -> bool:
        """True while limits are counted in this process's memory instead of Redis."""
        return self._down

    def _mark_down(self, error: BaseException) -> None:
        with self._lock:
            if self._down:  # another thread got there first: one report per outage
                return
            now = self._clock()
            recovered = self._recovered_at
            flapping = recovered is not None and now - recovered < self.FLAP_WINDOW
            retry_in = min(self._retry_in * 2, self.RETRY_MAX) if flapping else self.RETRY_FIRST
            self._retry_in = retry_in
            self._down, self._down_since = True, now
            self._next_probe = now + self._retry_in
            self._start_prober()
        set_rate_limit_fallback(True)
        # The type only: redis-py messages name the host and port, and the stack adds nothing.
        log.log(
            logging.INFO if flapping else logging.WARNING,
            "rate-limit storage unreachable (%s): counting limits in this process's memory "
            "until Redis answers again",
            type(error).__name__,
        )

    def _use_primary(self) -> bool:
        """Whether to try Redis now; while down, one caller at a time probes when it is due."""
        if not self._down:
            return True
        now = self._clock()
        with self._lock:
            if not self._down:
                return True
            if now < self._next_probe:
                return False
            # Claim this probe; other threads keep using memory meanwhile.
            self._retry_in = min(self._retry_in * 2, self.RETRY_MAX)
            self._next_probe = now + self._retry_in
        if not self._probe():
            return False
        with self._lock:
            if self._down:
                self._down, self._recovered_at = False, self._clock()
                set_rate_limit_fallback(False)
                log.info(
                    "rate-limit storage reachable again after %.1f s: limits are shared again",
                    self._recovered_at - self._down_since,
                )
        return True

    def _start_prober(self) -> None:
        """With ``_lock`` held: the outage's background prober, unless one is still running."""
        if not self._probe_in_background or self._prober is not None:
            return
        self._prober = threading.Thread(
            target=self._probe_until_up, name="ratelimit-storage-probe", daemon=True
        )
        self._prober.start()

    def _probe_until_up(self) -> None:
        while True:
            time.sleep(self.PROBER_TICK)
            # Probes only when one is due and no request has claimed it first.
            if self._use_primary():
                with self._lock:
                    if not self._down:  # not down again already: this outage is over
                        self._prober = None
                        return

    def _probe(self) -> bool:
        try:
            return bool(self.primary.check())
        except Exception:  # check() swallows redis errors; anything else also means "not yet"
            return False

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._use_primary():
            try:
                return getattr(self.primary, method)(*args, **kwargs)
            except Exception as error:  # refused, reset, timeout, protocol: all mean "not now"
                self._mark_down(error)
        return getattr(self.fallback, method)(*args, **kwargs)

    # limits.storage.Storage --------------------------------------------------------------------
    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # nothing escapes: every failure is answered from memory

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return int(self._call("incr", key, expiry, amount=amount))

    def get(self, key: str) -> int:
        return int(self._call("get", key))

    def get_expiry(self, key: str) -> float:
        return float(self._call("get_expiry", key))

    def check(self) -> bool:
        return self._probe()

    def reset(self) -> int | None:
        self.fallback.reset()
        return self._call("reset")  # type: ignore[no-any-return]

    def clear(self, key: str) -> None:
        self.fallback.clear(key)
        self._call("clear", key)

    # Moving window -----------------------------------------------------------------------------
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return bool(self._call("acquire_entry", key, limit, expiry, amount=amount))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        return self._call("get_moving_window", key, limit, expiry)  # type: ignore[no-any-return]

    # Sliding window counter (the configured strategy) ------------------------------------------
    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        if self._acquirer is not None and self._use_primary():
            try:
                return self._acquirer.acquire(key, limit, expiry, amount)
            except Exception as error:  # as in _call: answered from memory
                self._mark_down(error)
        return bool(self._call("acquire_sliding_window_entry", key, limit, expiry, amount=amount))

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        # The headers' read right after this request's own hit: answered by that hit.
        window = remembered_window(key, expiry)
        if window is not None:
            return window
        return self._call("get_sliding_window", key, expiry)  # type: ignore[no-any-return]

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        self.fallback.clear_sliding_window(key, expiry)
        self._call("clear_sliding_window", key, expiry)
