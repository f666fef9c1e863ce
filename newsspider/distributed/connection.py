"""One Redis client per crawler, from ``REDIS_URL`` (the setting scrapy-redis reads too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import redis

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_CLIENTS: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def redis_for(crawler: Crawler) -> Any:
    """The crawler's Redis client; it answers ``str``, not ``bytes``."""
    client = _CLIENTS.get(crawler)
    if client is None:
        client = redis.Redis.from_url(crawler.settings["REDIS_URL"], decode_responses=True)
        _CLIENTS[crawler] = client
    return client
