"""The life of a distributed run, kept in Redis.

* The first worker to start a run seeds it (``SET run NX``); the others join it and take
  requests from the shared queue. Members of a run beat every ``DISTRIBUTED_HEARTBEAT`` seconds;
  one silent for ``DISTRIBUTED_WORKER_TIMEOUT`` seconds counts as dead (killed).
* A run without a live member is stale (all its workers were killed): the next worker takes it
  over and starts a new run, so a rerun always does the work.
* A worker whose own engine is idle stays up while the shared queue holds requests or another
  live member is busy: a roll page being parsed elsewhere may still bring work.
* A member that stops beating (killed) while others live has its in-flight requests (taken,
  not yet done; see :mod:`.inflight`) put back into the shared queue by the first live member
  to notice, so the run still does all of its work.
* The last live member to leave clears the run, the shared queue and the seen-request set, so
  the next run starts clean. If requests are left then (queued, or held by a member that
  stopped), the run did not do all of its work: it says how many, and that worker, and the
  writer, exit 1.
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

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from twisted.internet import task

from newsspider.distributed.config import DistributedConfig
from newsspider.distributed.connection import redis_for
from newsspider.distributed.inflight import InFlightStore
from newsspider.extensions.reachability import FAILED_STAT

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


# Seconds a run's outcome (requests not done) is kept for the writer to read.
OUTCOME_TTL = 3600


def live_members(states: dict[str, str], now: float, timeout: float) -> dict[str, str]:
    """The members (id -> ``busy``/``idle``) of a run's members hash (id -> ``status stamp``)
    heard from within ``timeout`` seconds of ``now``."""
    live = {}
    for worker, state in states.items():
        status, _, stamp = state.partition(" ")
        if now - float(stamp or 0) <= timeout:
            live[worker] = status
    return live


class RunCoordinator:
    """Joins this worker to the distributed run (an extension; see the module docstring).

    Settings (its :class:`DistributedConfig`): ``DISTRIBUTED_HEARTBEAT``,
    ``DISTRIBUTED_WORKER_TIMEOUT``, ``DISTRIBUTED_WRITER_WAIT`` (seconds to wait for the writer).
    Stats: ``distributed/seeded``, ``distributed/idle_waits``, ``distributed/took_over``,
    ``distributed/workers_lost`` (dead members whose requests this worker put back),
    ``distributed/requeued`` (those requests), ``distributed/not_done`` (requests left when
    this worker ended the run; the run fails with ``newsspider/run_failed = incomplete``).
    """

    def __init__(self, crawler: Crawler, config: DistributedConfig) -> None:
        self.crawler = crawler
        self.keys = config.keys
        self.redis = redis_for(crawler)
        self.heartbeat = config.heartbeat
        self.worker_timeout = config.worker_timeout
        self.writer_wait = config.writer_wait
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.ttl = max(2, round(self.worker_timeout))
        # A member's in-flight hash outlives its last beat long enough for a live member to
        # notice the death (after worker_timeout) and put the requests back.
        self.inflight_ttl = self.ttl * 4
        self.store = InFlightStore(self.redis, self.keys.requests)
        self.run_id: str | None = None
        self._task: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunCoordinator:
        config = DistributedConfig.of(crawler)
        if not config.enabled:
            raise NotConfigured
        coordinator = cls(crawler, config)
        crawler.signals.connect(coordinator.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(coordinator.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(coordinator.spider_closed, signal=signals.spider_closed)
        return coordinator

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> RunCoordinator:
        """The crawler's coordinator (the extension instance)."""
        coordinator = crawler.get_extension(cls)
        if coordinator is None:
            raise RuntimeError("RunCoordinator is not enabled (DISTRIBUTED_ENABLED)")
        return coordinator

    def _stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats

    # --- membership ---------------------------------------------------------------------------

    def _members_key(self, run_id: str) -> str:
        return self.keys.members(run_id)

    def _beat(self, busy: bool) -> None:
        if self.run_id is None:
            return
        members = self._members_key(self.run_id)
        state = f"{'busy' if busy else 'idle'} {time.time():.3f}"
        pipe = self.redis.pipeline()
        pipe.hset(members, self.worker_id, state)
        pipe.expire(members, self.ttl * 4)
        pipe.expire(self.keys.inflight(self.run_id, self.worker_id), self.inflight_ttl)
        pipe.execute()
        if self.redis.get(self.keys.run) == self.run_id:
            self.redis.expire(self.keys.run, self.ttl)

    def _live_members(self, run_id: str, put_back: bool = True) -> dict[str, str]:
        """Members of ``run_id`` (other than this worker) heard from recently: id -> status.

        The others are dead; with ``put_back``, their in-flight requests go back into the
        shared queue in this same look, so a member is never both gone and holding work.
        """
        now = time.time()
        states = self.redis.hgetall(self._members_key(run_id))
        states.pop(self.worker_id, None)
        live = live_members(states, now, self.worker_timeout)
        if put_back:
            for worker in states.keys() - live.keys():
                silent = now - float(states[worker].partition(" ")[2] or 0)
                self._put_back(run_id, worker, states[worker], silent)
        return live

    def _put_back(self, run_id: str, worker: str, state: str, silent: float) -> None:
        returned = self.store.put_back(
            self.keys.inflight(run_id, worker), self._members_key(run_id), worker, state
        )
        if returned < 0:  # it beat again meanwhile, or another member was first
            return
        stats = self._stats()
        stats.inc_value("distributed/workers_lost")
        stats.inc_value("distributed/requeued", returned)
        logger.warning(
            "Worker %s has been silent for %.0f s; put the %d request(s) it held back in the "
            "shared queue",
            worker,
            silent,
            returned,
        )

    def _queued(self) -> int:
        return int(self.redis.zcard(self.keys.requests))

    # --- lifecycle ----------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        self._task = task.LoopingCall(self._heartbeat)
        self._task.start(self.heartbeat, now=False)

    def _heartbeat(self) -> None:
        engine = self.crawler.engine
        busy = engine is not None and not engine.spider_is_idle()
        self._beat(busy)
        if self.run_id is not None:
            self._live_members(self.run_id)  # puts back what dead members held
        if self.run_id is not None and not busy and self._queued():
            # Other workers queued requests while this engine idled.
            self._wake()

    def _wake(self) -> None:
        """Have the engine ask the scheduler for requests now instead of at its next 5-second
        heartbeat."""
        nextcall = getattr(getattr(self.crawler.engine, "_slot", None), "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def spider_idle(self, spider: Spider) -> None:
        """Stay up while the shared queue has requests or another live member is busy."""
        if self.run_id is None:
            return
        self._beat(busy=False)
        # Look at the members first: what a dead one held goes back into the queue.
        live = self._live_members(self.run_id)
        if self._queued():
            raise DontCloseSpider
        if "busy" in live.values():
            self._stats().inc_value("distributed/idle_waits")
            raise DontCloseSpider

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        if self.run_id is None:
            return
        self.redis.hdel(self._members_key(self.run_id), self.worker_id)
        if self._live_members(self.run_id):
            return
        left = self._queued() + self.store.held(self.keys.all_inflight(self.run_id))
        self.redis.set(self.keys.outcome(self.run_id), left, ex=OUTCOME_TTL)
        if left:
            self._stats().set_value("distributed/not_done", left)
            self._stats().set_value(FAILED_STAT, "incomplete")
            logger.error(
                "The distributed run %s ends with %d request(s) not done (article or roll "
                "pages, queued or held by workers that stopped): what they would have archived "
                "is missing; run again",
                self.run_id,
                left,
            )
        self._end_run(self.run_id)
        logger.info("Last worker of the run: cleared the shared queue and seen-request set")

    def _end_run(self, run_id: str) -> None:
        if self.redis.get(self.keys.run) == run_id:
            self.redis.delete(self.keys.run)
        stale = list(self.redis.scan_iter(match=self.keys.all_inflight(run_id)))
        self.redis.delete(
            self.keys.requests, self.keys.dupefilter, self._members_key(run_id), *stale
        )

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

    async def claim_seed(self) -> bool:
        """Join the current run, or start one; True for the worker that starts it (and so
        seeds the roll). A stale run (no live member) is taken over."""
        while True:
            run_id = uuid.uuid4().hex
            # Be a member before the run exists, so no one ever sees it without a live member.
            self.run_id = run_id
            self._beat(busy=True)
            if self.redis.set(self.keys.run, run_id, nx=True, ex=self.ttl):
                # A new run: what a killed run left in the queue and the seen-set is stale.
                self.redis.delete(self.keys.requests, self.keys.dupefilter)
                self._stats().set_value("distributed/seeded", 1)
                logger.info("Starting the distributed run %s", run_id)
                return True
            self.redis.delete(self._members_key(run_id))
            self.run_id = None
            current = self.redis.get(self.keys.run)
            if current is not None and self._live_members(current, put_back=False):
                self.run_id = current
                self._beat(busy=True)
                logger.info("Joining the distributed run %s", current)
                self._wake()  # the scheduler hands out the run's requests to members only
                return False
            # No live member: its workers were killed. One worker clears it; all retry.
            if current is not None and self.redis.set(
                f"{self.keys.run}:takeover", self.worker_id, nx=True, ex=self.ttl
            ):
                logger.warning("The run %s has no live worker left; starting a new one", current)
                self._stats().set_value("distributed/took_over", 1)
                self._end_run(current)
            else:
                await asyncio.sleep(self.heartbeat / 2)
