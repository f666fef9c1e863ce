"""``sina_writer``: the one process that writes the archive in the distributed mode.

It publishes what the archive index holds for the workers (replacing, in one step, whatever
an earlier writer published under the same prefix), then takes the items they push to
Redis and runs them through the archive writer, exactly as a single-process crawl would. It
stops when the workers' run is over and every item is written (or, with no run, after
``DISTRIBUTED_WRITER_IDLE`` seconds). A run that ended with requests not done (see
:mod:`newsspider.distributed.coordinator`) fails the writer too: one line with the count, exit 1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import scrapy

from newsspider.config import ConfigError
from newsspider.distributed.config import DistributedConfig, Role
from newsspider.extensions.archive import CrawlArchive
from newsspider.extensions.reachability import FAILED_STAT

logger = logging.getLogger(__name__)

BATCH = 100
WRITER_TTL = 10


class SinaWriterSpider(scrapy.Spider):
    """Writes the items distributed workers produce. Needs ``DISTRIBUTED_ENABLED``."""

    name = "sina_writer"
    custom_settings = {"DISTRIBUTED_ROLE": Role.WRITER.value}  # noqa: RUF012 (Scrapy's own)

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """The writer takes no arguments (besides Scrapyd's ``_job``)."""
        unknown = [k for k in kwargs if not k.startswith("_")]
        if unknown:
            raise ConfigError(f"sina_writer takes no arguments, got {', '.join(unknown)}")

    async def start(self) -> AsyncIterator[Any]:
        config = DistributedConfig.of(self.crawler)
        if not config.enabled:
            logger.error("sina_writer runs in the distributed mode only (DISTRIBUTED_ENABLED)")
            assert self.crawler.stats is not None
            self.crawler.stats.set_value(FAILED_STAT, "not_distributed")
            return
        from newsspider.distributed.connection import redis_for
        from newsspider.distributed.coordinator import live_members
        from newsspider.distributed.items import decode_item
        from newsspider.distributed.knowledge import replace

        redis = redis_for(self.crawler)
        keys = config.keys
        assert self.crawler.stats is not None
        stats = self.crawler.stats
        published = replace(redis, keys, CrawlArchive.index_of(self.crawler).rows())
        logger.info("Published %d archived article(s) for the workers", published)
        idle_limit = config.writer_idle
        redis.set(keys.writer, "ready", ex=WRITER_TTL)
        timeout = config.worker_timeout
        run: str | None = None  # the latest run seen with a live member
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
                current = redis.get(keys.run)
                if current is not None and current != run:
                    # A run left by killed workers is not the workers' run: the next worker
                    # takes it over (ending it) and starts another.
                    members = redis.hgetall(keys.members(current))
                    if live_members(members, time.time(), timeout):
                        run = current
                if current is not None and current == run:
                    idle_since = time.monotonic()
                elif run is not None or time.monotonic() - idle_since > idle_limit:
                    if redis.llen(keys.items):
                        continue  # pushed between the pop above and the end of the run
                    break
                await asyncio.sleep(0.1)
        finally:
            redis.delete(keys.writer)
        if run is not None and self._not_done(redis, keys, run):
            return
        logger.info("The workers' run is over and every item is written")

    def _not_done(self, redis: Any, keys: Any, run: str) -> int:
        """How many requests the workers' ``run`` left not done (logged, and the writer's run
        failed, when any): what its last member counted or, when every member was killed, what
        is still queued or held."""
        from newsspider.distributed.inflight import InFlightStore

        outcome = redis.get(keys.outcome(run))
        if outcome is not None:
            left = int(outcome)
            why = "its last worker counted them"
        else:
            store = InFlightStore(redis, keys.requests)
            left = int(redis.zcard(keys.requests)) + store.held(keys.all_inflight(run))
            why = "no worker was left to finish them"
        if left:
            assert self.crawler.stats is not None
            self.crawler.stats.set_value("distributed/not_done", left)
            self.crawler.stats.set_value(FAILED_STAT, "incomplete")
            logger.error(
                "The workers' run ended with %d request(s) not done (%s): every item they "
                "sent is written, what those would have brought is missing; run again",
                left,
                why,
            )
        return left
