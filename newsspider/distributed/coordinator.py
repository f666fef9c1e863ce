"""The life of a distributed run, kept in Redis.

* The first worker to start a run seeds it (``SET run NX``); the others join and take requests
  from the shared queue. The run id lives as long as a worker refreshes it (heartbeats), so a
  run whose workers were all killed ends by itself.
* A worker whose own engine is idle stays up while the shared queue holds requests or another
  live worker is busy: a roll page being parsed elsewhere may still bring work.
* The last worker to leave clears the run, the shared queue and the seen-request set, so the
  next run starts clean.
* Workers wait for the writer (``scrapy crawl sina_writer``) to have published what is
  archived before they decide what to fetch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from twisted.internet import task

from newsspider.distributed.connection import redis_for
from newsspider.distributed.keys import Keys

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_BY_CRAWLER: WeakKeyDictionary[Any, RunCoordinator] = WeakKeyDictionary()


class RunCoordinator:
    """Joins this worker to the distributed run (an extension; see the module docstring).

    Settings: ``NEWSSPIDER_HEARTBEAT`` (seconds, 1), ``NEWSSPIDER_WORKER_TIMEOUT`` (a worker
    silent this long is dead, 10), ``NEWSSPIDER_WRITER_WAIT`` (seconds to wait for the writer,
    60). Stats: ``distributed/seeded``, ``distributed/idle_waits``.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.keys = Keys.from_settings(settings)
        self.redis = redis_for(crawler)
        self.heartbeat = settings.getfloat("NEWSSPIDER_HEARTBEAT", 1.0)
        self.worker_timeout = settings.getfloat("NEWSSPIDER_WORKER_TIMEOUT", 10.0)
        self.writer_wait = settings.getfloat("NEWSSPIDER_WRITER_WAIT", 60.0)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.run_ttl = max(3, int(self.worker_timeout))
        self._task: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunCoordinator:
        if not crawler.settings.getbool("NEWSSPIDER_DISTRIBUTED"):
            raise NotConfigured
        coordinator = cls(crawler)
        _BY_CRAWLER[crawler] = coordinator
        crawler.signals.connect(coordinator.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(coordinator.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(coordinator.spider_closed, signal=signals.spider_closed)
        return coordinator

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> RunCoordinator:
        """The crawler's coordinator (the extension instance)."""
        return _BY_CRAWLER[crawler]

    # --- lifecycle ----------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        self._beat(busy=True)
        self._task = task.LoopingCall(self._heartbeat)
        self._task.start(self.heartbeat, now=False)

    def _heartbeat(self) -> None:
        engine = self.crawler.engine
        busy = engine is not None and not engine.spider_is_idle()
        self._beat(busy)
        self.redis.expire(self.keys.run, self.run_ttl)
        if not busy and self._queued():
            # Other workers queued requests while this engine idled: wake it now instead of
            # at its next 5-second heartbeat.
            nextcall = getattr(getattr(engine, "_slot", None), "nextcall", None)
            if nextcall is not None:
                nextcall.schedule()

    def _queued(self) -> int:
        return int(self.redis.zcard(self.keys.requests))

    def _beat(self, busy: bool) -> None:
        state = f"{'busy' if busy else 'idle'} {time.time():.3f}"
        self.redis.hset(self.keys.workers, self.worker_id, state)

    def _others_busy(self) -> bool:
        now = time.time()
        for worker, state in self.redis.hgetall(self.keys.workers).items():
            if worker == self.worker_id:
                continue
            status, _, stamp = state.partition(" ")
            if now - float(stamp or 0) > self.worker_timeout:
                self.redis.hdel(self.keys.workers, worker)  # a dead worker
            elif status == "busy":
                return True
        return False

    def spider_idle(self, spider: Spider) -> None:
        """Stay up while the shared queue has requests or another worker is busy."""
        self._beat(busy=False)
        if self._queued():
            raise DontCloseSpider
        if self.redis.exists(self.keys.run) and self._others_busy():
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("distributed/idle_waits")
            raise DontCloseSpider

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        self.redis.hdel(self.keys.workers, self.worker_id)
        now = time.time()
        alive = [
            w
            for w, state in self.redis.hgetall(self.keys.workers).items()
            if now - float(state.partition(" ")[2] or 0) <= self.worker_timeout
        ]
        if not alive:
            self.redis.delete(self.keys.run, self.keys.dupefilter, self.keys.requests)
            logger.info("Last worker of the run: cleared the shared queue and seen-request set")

    # --- what the spider asks -----------------------------------------------------------------

    async def wait_for_writer(self) -> bool:
        """Wait until the writer has published what is archived; False after the timeout."""
        deadline = time.monotonic() + self.writer_wait
        while not self.redis.exists(self.keys.writer):
            if time.monotonic() > deadline:
                logger.error(
                    "No archive writer is running for %s; start `scrapy crawl sina_writer` "
                    "with the same REDIS_URL first",
                    self.keys.prefix,
                )
                return False
            await asyncio.sleep(0.2)
        return True

    def claim_seed(self) -> bool:
        """True for the one worker that starts the run (and so seeds the roll)."""
        run_id = uuid.uuid4().hex
        if not self.redis.set(self.keys.run, run_id, nx=True, ex=self.run_ttl):
            logger.info("Joining the distributed run %s", self.redis.get(self.keys.run))
            return False
        # A new run: what a killed run left in the queue and the seen-set is stale.
        self.redis.delete(self.keys.requests, self.keys.dupefilter)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("distributed/seeded", 1)
        logger.info("Starting the distributed run %s", run_id)
        return True
