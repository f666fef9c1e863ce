"""Redis clients from ``REDIS_URL`` (the setting scrapy-redis reads too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import redis

from newsspider.config import ConfigError
from newsspider.distributed.config import DistributedConfig

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

# Seconds the start-up check waits for Redis to answer.
CHECK_TIMEOUT = 5.0


def redis_for(crawler: Crawler) -> Any:
    """A Redis client for the crawl's ``REDIS_URL``, answering ``str``, not ``bytes``. Each
    component builds its own once (in ``from_crawler``) and keeps it: no registry."""
    url = DistributedConfig.of(crawler).redis_url
    return redis.Redis.from_url(url, decode_responses=True)


def without_password(url: str) -> str:
    """``url`` with any password in it replaced by ``***``, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def unreachable(url: str, timeout: float = CHECK_TIMEOUT) -> str | None:
    """Why the Redis at ``url`` cannot be used, in one line; None when it answers PING.

    Workers and the writer call this before the crawl starts, so that a Redis that is down is
    one clear line instead of a traceback from every component that opens a connection.
    """
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    except ValueError as exc:
        return f"REDIS_URL {without_password(url)} is not a Redis URL ({exc})"
    try:
        client.ping()
    except redis.RedisError as exc:
        return (
            f"cannot reach the Redis at {without_password(url)} ({exc}); start it or fix REDIS_URL"
        )
    finally:
        client.close()
    return None


def preflight(settings: BaseSettings) -> str | None:
    """The distributed mode's check before a run starts (``RUN_PREFLIGHT``): a usage error
    without ``REDIS_URL``, and one line when the Redis there does not answer."""
    url = DistributedConfig.from_settings(settings).redis_url
    if not url:
        raise ConfigError("DISTRIBUTED_ENABLED needs REDIS_URL (e.g. redis://host:6379/0)")
    return unreachable(url)
