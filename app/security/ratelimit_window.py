"""One Redis round trip per limited request, however many limits are stacked on it, and none
for the ``X-RateLimit-*`` headers.

Flask-Limiter hits each limit separately (the ``limits`` sliding-window script), then asks the
storage for the window of the limit it reports in the headers: with a burst and a sustained
limit that is three script calls. Here:

- the class limits (``ratelimit.py``) ``plan`` their windows on ``flask.g`` when Flask-Limiter
  asks them which limits apply, before it hits any;
- the first hit on a planned window runs ``ACQUIRE_ALL`` once for every planned window: all
  or nothing, so a refused request spends no budget on the limits it did not break;
- the other planned hits, and the headers' read of the window, are answered from that reply
  (popped, so nothing is served twice);
- a hit nobody planned (``RATELIMIT_DEFAULT``'s route limit) runs the same script for its one
  window. Outside a request nothing is kept.

Redis Cluster spreads the windows of different limits over different slots, which one script
cannot span: there each window gets its own call (``batches``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from limits.storage import RedisClusterStorage, RedisStorage

Window = tuple[int, float, int, float]  # previous count, its ttl (s), current count, its ttl (s)
_PLAN = "_ratelimit_plan"
_OUTCOMES = "_ratelimit_outcomes"
_WINDOWS = "_ratelimit_windows"

# limits 5.x's acquire_sliding_window.lua, for several windows at once (two keys and three
# arguments each): every window is checked before any is counted. The reply holds, per
# window, whether it had room and the window as limits' get_sliding_window reads it.
ACQUIRE_ALL = """
local windows = #KEYS / 2
local state = {}
local room = true
for i = 1, windows do
    local previous_key, current_key = KEYS[2 * i - 1], KEYS[2 * i]
    local limit = tonumber(ARGV[3 * i - 2])
    local expiry = tonumber(ARGV[3 * i - 1]) * 1000
    local amount = tonumber(ARGV[3 * i])

    local current_ttl = tonumber(redis.call('pttl', current_key))
    if current_ttl > 0 and current_ttl < expiry then
        redis.call('rename', current_key, previous_key)
        redis.call('set', current_key, 0, 'PX', current_ttl + expiry)
    end

    local previous_count = tonumber(redis.call('get', previous_key)) or 0
    local previous_ttl = tonumber(redis.call('pttl', previous_key)) or 0
    local current_count = tonumber(redis.call('get', current_key)) or 0
    current_ttl = tonumber(redis.call('pttl', current_key)) or 0
    if previous_ttl <= 0 then previous_ttl = 0 end
    if current_ttl <= 0 then current_ttl = 0 end

    local weighted_count = math.floor(previous_count * previous_ttl / expiry) + current_count
    local fits = amount <= limit and (weighted_count + amount) <= limit
    room = room and fits
    state[i] = {fits and 1 or 0, previous_count, previous_ttl, current_count, current_ttl,
                expiry, amount}
end

local reply = {}
for i = 1, windows do
    local s = state[i]
    if room then
        local current_key = KEYS[2 * i]
        if redis.call('exists', current_key) == 1 then
            s[4] = redis.call('incrby', current_key, s[7])
        else
            redis.call('set', current_key, s[7], 'PX', s[6] * 2)
            s[4], s[5] = s[7], s[6] * 2
        end
    end
    for j = 1, 5 do reply[#reply + 1] = s[j] end
end
return reply
"""


@dataclass(frozen=True)
class PlannedHit:
    """One window a request is about to hit: its storage key as ``limits`` builds it."""

    key: str
    limit: int
    expiry: int
    amount: int = 1


def plan(hits: list[PlannedHit]) -> None:
    """Announce windows this request will hit, so that the first hit acquires them all."""
    if has_request_context():
        planned: dict[str, PlannedHit] = g.setdefault(_PLAN, {})
        planned.update((hit.key, hit) for hit in hits)


def window_keys(storage: RedisStorage, key: str) -> list[str]:
    """The previous and current window keys of ``key``, named as ``limits`` names them
    ("{key}/-1" and "{key}": the braces keep both on one Redis Cluster slot)."""
    return [storage.prefixed_key(f"{{{key}}}/-1"), storage.prefixed_key(f"{{{key}}}")]


class WindowReadingAcquirer:
    """``acquire_sliding_window_entry`` on a Redis storage: the planned windows in one call,
    each window it saw remembered for the headers."""

    def __init__(self, storage: RedisStorage) -> None:
        self.storage = storage
        self.batches = not isinstance(storage, RedisClusterStorage)
        self._script = storage.get_connection().register_script(ACQUIRE_ALL)

    def acquire(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        hit = PlannedHit(key, limit, expiry, amount)
        if not has_request_context():
            return self._run([hit])[key]
        outcomes: dict[str, bool] = g.setdefault(_OUTCOMES, {})
        if key in outcomes:
            return outcomes.pop(key)
        planned: dict[str, PlannedHit] = g.get(_PLAN) or {}
        batch = [hit]
        if self.batches and planned.get(key) == hit:
            batch = [planned.pop(key), *planned.values()]
            planned.clear()
        outcomes.update(self._run(batch))
        return outcomes.pop(key)

    def _run(self, hits: list[PlannedHit]) -> dict[str, bool]:
        keys = [name for hit in hits for name in window_keys(self.storage, hit.key)]
        args = [value for hit in hits for value in (hit.limit, hit.expiry, hit.amount)]
        reply = [int(value or 0) for value in self._script(keys, args)]
        outcomes = {}
        windows: dict[tuple[str, int], Window] = (
            g.setdefault(_WINDOWS, {}) if has_request_context() else {}
        )
        for index, hit in enumerate(hits):
            fits, previous, previous_ttl, current, current_ttl = reply[5 * index : 5 * index + 5]
            outcomes[hit.key] = bool(fits)
            window = (previous, previous_ttl / 1000, current, current_ttl / 1000)
            windows[(hit.key, hit.expiry)] = window
        return outcomes


def remembered_window(key: str, expiry: int) -> Window | None:
    """The window this request's own hit on ``key`` saw, once; None if there is none."""
    if not has_request_context():
        return None
    windows: dict[tuple[str, int], Window] | None = g.get(_WINDOWS)
    return windows.pop((key, expiry), None) if windows else None


def acquirer_for(storage: Any) -> WindowReadingAcquirer | None:
    """The window-reading acquirer for a Redis storage; None for any other storage."""
    return WindowReadingAcquirer(storage) if isinstance(storage, RedisStorage) else None
