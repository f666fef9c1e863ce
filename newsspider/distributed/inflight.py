"""The requests a worker has taken from the shared queue and not finished: a reliable queue.

Taking a request moves it, in one step, from the shared queue into the worker's in-flight hash
(``<prefix>:run:<run>:inflight:<worker>``, token -> ``<score>\\n<request>``). It leaves that
hash once its work is done: every item it produced is pushed to the writer and every request it
produced is queued, or it was dropped, failed or answered 304. A worker that dies keeps its
entries there; a live member of the run puts them back into the shared queue exactly as they
were, so the seen-request set, which already holds them, cannot refuse them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

# KEYS: queue, in-flight hash. ARGV: token, seconds the hash lives unless refreshed.
# Returns the request taken (the queue's lowest score first, as scrapy-redis pops), or nil.
_TAKE = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
redis.call('HSET', KEYS[2], ARGV[1], top[2] .. '\\n' .. top[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return top[1]
"""

# KEYS: queue, in-flight hash, members hash. ARGV: member id, its state as last read ('' for
# no check). Puts every entry back into the queue and removes the member; -1 (and nothing done)
# when the member has beaten since its state was read: it is alive after all.
_PUT_BACK = """
if ARGV[1] ~= '' then
  if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return -1 end
  redis.call('HDEL', KEYS[3], ARGV[1])
end
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  local entry = entries[i + 1]
  local cut = string.find(entry, '\\n', 1, true)
  redis.call('ZADD', KEYS[1], string.sub(entry, 1, cut - 1), string.sub(entry, cut + 1))
end
redis.call('DEL', KEYS[2])
return #entries / 2
"""


class InFlightStore:
    """The reliable-queue operations on one Redis client (``bytes`` or ``str`` answers alike:
    requests are moved inside Redis, never decoded here)."""

    def __init__(self, redis: Any, queue_key: str) -> None:
        self.redis = redis
        self.queue_key = queue_key
        self._take = redis.register_script(_TAKE)
        self._put_back = redis.register_script(_PUT_BACK)

    def take(self, inflight_key: str, token: str, ttl: int) -> Any:
        """Move the first queued request into ``inflight_key`` under ``token``; its encoded
        form, or None when the queue is empty."""
        return self._take(keys=[self.queue_key, inflight_key], args=[token, ttl])

    def release(self, inflight_key: str, tokens: Collection[str]) -> None:
        """Forget requests whose work is done."""
        if tokens:
            self.redis.hdel(inflight_key, *tokens)

    def put_back(
        self, inflight_key: str, members_key: str = "", member: str = "", state: str = ""
    ) -> int:
        """Return every request held in ``inflight_key`` to the queue; how many.

        With ``member``, only if that member's entry in ``members_key`` still reads ``state``
        (then the entry is removed too); -1 when it does not.
        """
        return int(
            self._put_back(
                keys=[self.queue_key, inflight_key, members_key or inflight_key],
                args=[member, state],
            )
        )

    def held(self, pattern: str) -> int:
        """How many requests the in-flight hashes matching ``pattern`` hold."""
        return sum(int(self.redis.hlen(key)) for key in self.redis.scan_iter(match=pattern))
