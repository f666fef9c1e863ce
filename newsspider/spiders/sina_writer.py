"""``sina_writer``: the one process that writes the archive in the distributed mode.

It publishes what the archive index holds for the workers, then takes the items they push to
Redis and runs them through the archive writer, exactly as a single-process crawl would. It
stops when the workers' run is over and every item is written (or, with no run, after
``NEWSSPIDER_WRITER_IDLE`` seconds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import scrapy

from newsspider.archive.index import ArchiveIndex
from newsspider.config import ConfigError
from newsspider.extensions.reachability import FAILED_STAT

logger = logging.getLogger(__name__)

BATCH = 100
WRITER_TTL = 10


class SinaWriterSpider(scrapy.Spider):
    """Writes the items distributed workers produce. Needs ``NEWSSPIDER_DISTRIBUTED``."""

    name = "sina_writer"
    custom_settings = {"NEWSSPIDER_ROLE": "writer"}  # noqa: RUF012 (Scrapy's own attribute)

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """The writer takes no arguments (besides Scrapyd's ``_job``)."""
        unknown = [k for k in kwargs if not k.startswith("_")]
        if unknown:
            raise ConfigError(f"sina_writer takes no arguments, got {', '.join(unknown)}")

    async def start(self) -> AsyncIterator[Any]:
        if not self.settings.getbool("NEWSSPIDER_DISTRIBUTED"):
            logger.error("sina_writer runs in the distributed mode only (NEWSSPIDER_DISTRIBUTED)")
            assert self.crawler.stats is not None
            self.crawler.stats.set_value(FAILED_STAT, "not_distributed")
            return
        from newsspider.distributed.connection import redis_for
        from newsspider.distributed.items import decode_item
        from newsspider.distributed.keys import Keys
        from newsspider.distributed.knowledge import publish

        redis = redis_for(self.crawler)
        keys = Keys.from_settings(self.settings)
        assert self.crawler.stats is not None
        stats = self.crawler.stats
        published = publish(redis, keys, ArchiveIndex.for_crawler(self.crawler).rows())
        logger.info("Published %d archived article(s) for the workers", published)
        idle_limit = self.settings.getfloat("NEWSSPIDER_WRITER_IDLE", 60.0)
        redis.set(keys.writer, "ready", ex=WRITER_TTL)
        seen_run = False
        idle_since = time.monotonic()
        try:
            while True:
                redis.set(keys.writer, "ready", ex=WRITER_TTL)
                batch = redis.lpop(keys.items, BATCH) or []
                for raw in batch:
                    try:
                        yield decode_item(raw)
                    except ValueError as exc:
                        stats.inc_value("distributed/bad_items")
                        logger.warning("Skipped an unreadable item from Redis: %s", exc)
                if batch:
                    idle_since = time.monotonic()
                    continue
                if redis.exists(keys.run):
                    seen_run = True
                    idle_since = time.monotonic()
                elif seen_run or time.monotonic() - idle_since > idle_limit:
                    break
                await asyncio.sleep(0.1)
        finally:
            redis.delete(keys.writer)
        logger.info("The workers' run is over and every item is written")
