"""One Redis round trip per stacked limit instead of one and a half: the hit also reads the
window that Flask-Limiter's ``X-RateLimit-*`` headers are computed from.

Flask-Limiter hits each limit (the ``limits`` sliding-window script), then asks the storage
for the window of the limit it reports in the headers: a second script call to read what the
first one just wrote. ``ACQUIRE_AND_READ`` is ``limits``' own acquire script, returning the
window as well; the window is kept on ``flask.g`` for the one read that follows in the same
request (popped, so it is never served twice). Outside a request nothing is kept.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from limits.storage import RedisStorage

Window = tuple[int, float, int, float]  # previous count, its ttl (s), current count, its ttl (s)
_WINDOWS = "_ratelimit_windows"

# limits 5.x's acquire_sliding_window.lua, unchanged up to its returns, which here also give the
# window (the keys as its get_sliding_window reads them: see window_keys()).
ACQUIRE_AND_READ = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local amount = tonumber(ARGV[3])

local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end

local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
local previous_ttl = tonumber(redis.call('pttl', KEYS[1])) or 0
local current_count = tonumber(redis.call('get', KEYS[2])) or 0
current_ttl = tonumber(redis.call('pttl', KEYS[2])) or 0
if previous_ttl <= 0 then previous_ttl = 0 end
if current_ttl <= 0 then current_ttl = 0 end

local weighted_count = math.floor(previous_count * previous_ttl / expiry) + current_count
if amount > limit or (weighted_count + amount) > limit then
    return {0, previous_count, previous_ttl, current_count, current_ttl}
end

if redis.call('exists', KEYS[2]) == 1 then
    current_count = redis.call('incrby', KEYS[2], amount)
else
    redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
    current_count, current_ttl = amount, expiry * 2
end
return {1, previous_count, previous_ttl, current_count, current_ttl}
"""


def window_keys(storage: RedisStorage, key: str) -> list[str]:
    """The previous and current window keys of ``key``, named as ``limits`` names them
    ("{key}/-1" and "{key}": the braces keep both on one Redis Cluster slot)."""
    return [storage.prefixed_key(f"{{{key}}}/-1"), storage.prefixed_key(f"{{{key}}}")]


class WindowReadingAcquirer:
    """``acquire_sliding_window_entry`` on a Redis storage, remembering the window it saw."""

    def __init__(self, storage: RedisStorage) -> None:
        self.storage = storage
        self._script = storage.get_connection().register_script(ACQUIRE_AND_READ)

    def acquire(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        reply = self._script(window_keys(self.storage, key), [limit, expiry, amount])
        acquired, previous, previous_ttl, current, current_ttl = (int(x or 0) for x in reply)
        if has_request_context():
            windows: dict[tuple[str, int], Window] = g.setdefault(_WINDOWS, {})
            windows[(key, expiry)] = (previous, previous_ttl / 1000, current, current_ttl / 1000)
        return bool(acquired)


def remembered_window(key: str, expiry: int) -> Window | None:
    """The window this request's own hit on ``key`` saw, once; None if there is none."""
    if not has_request_context():
        return None
    windows: dict[tuple[str, int], Window] | None = g.get(_WINDOWS)
    return windows.pop((key, expiry), None) if windows else None


def acquirer_for(storage: Any) -> WindowReadingAcquirer | None:
    """The window-reading acquirer for a Redis storage; None for any other storage."""
    return WindowReadingAcquirer(storage) if isinstance(storage, RedisStorage) else None
