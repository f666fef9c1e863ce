"""scrapy-redis's scheduler and dupefilter, fitted to the Scrapy version newsspider pins and
made reliable: a request a worker took stays in Redis until its work is done."""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider, signals
from scrapy.utils.misc import load_object
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler

from newsspider.distributed.coordinator import RunCoordinator
from newsspider.distributed.inflight import InFlightStore

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def in_progress(engine: Any) -> set[Request] | None:
    """The requests the engine took from its scheduler and has not finished with: from the
    hand-over until the callback's or errback's items went through the item pipelines and its
    requests were scheduled (Scrapy keeps no public record of this; None if it is gone)."""
    inprogress = getattr(getattr(engine, "_slot", None), "inprogress", None)
    return inprogress if isinstance(inprogress, set) else None


class RedisScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis's scheduler in the current Scrapy API (stats calls without ``spider``,
    logging through a logger; both deprecated in Scrapy 2.19), with a reliable queue.

    * A request is taken from the shared queue into this worker's in-flight hash in one step
      (:mod:`newsspider.distributed.inflight`), and only once the worker is a member of the run.
    * It is released when the engine is done with it (its items pushed, its requests queued,
      or it was dropped, failed or answered 304); a request Scrapy sends again (a retry, a
      redirect) is queued again as a new request first.
    * On close, requests not done are put back for the other workers.

    The queue itself is kept when a worker closes: the run coordinator decides when a run is
    over. Stats: ``distributed/requeued`` (requests this worker put back).
    """

    crawler: Crawler
    coordinator: RunCoordinator | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisScheduler:
        scheduler: RedisScheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler._taken = {}
        scheduler._tokens = itertools.count(1)
        crawler.signals.connect(scheduler._spider_idle, signal=signals.spider_idle)
        return scheduler

    _taken: dict[str, Request]
    _tokens: itertools.count[int]

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.coordinator = self.crawler.get_extension(RunCoordinator)
        self.store = InFlightStore(self.server, self.queue_key % {"spider": spider.name})
        try:
            self.queue = load_object(self.queue_cls)(
                server=self.server,
                spider=spider,
                key=self.queue_key % {"spider": spider.name},
                serializer=self.serializer,
            )
        except TypeError as exc:
            raise ValueError(
                f"Failed to instantiate queue class {self.queue_cls!r}: {exc}"
            ) from exc
        if not self.df:  # type: ignore[has-type]
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        if self.flush_on_start:
            self.flush()
        queued = len(self.queue)
        if queued:
            logger.info("Taking requests from the shared queue (%d scheduled)", queued)

    def _inflight_key(self) -> str | None:
        """This worker's in-flight hash; None until it is a member of a run."""
        coordinator = self.coordinator
        if coordinator is None or coordinator.run_id is None:
            return None
        return coordinator.keys.inflight(coordinator.run_id, coordinator.worker_id)

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Request | None:
        self.settle()
        key = self._inflight_key()
        if key is None:  # not a member of the run yet: its requests are not ours to take
            return None
        assert self.coordinator is not None
        token = str(next(self._tokens))
        encoded = self.store.take(key, token, self.coordinator.inflight_ttl)
        if encoded is None:
            return None
        request: Request = self.queue._decode_request(encoded)
        self._taken[token] = request
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def settle(self, idle: bool = False) -> None:
        """Release the taken requests the engine is done with (all of them when it is
        ``idle``)."""
        key = self._inflight_key()
        if not self._taken or key is None:
            return
        busy = set() if idle else in_progress(self.crawler.engine)
        if busy is None:  # no record of what is in progress: keep all until the engine idles
            return
        done = [token for token, request in self._taken.items() if request not in busy]
        self.store.release(key, done)
        for token in done:
            del self._taken[token]

    def _spider_idle(self, spider: Spider) -> None:
        self.settle(idle=True)

    def close(self, reason: str) -> None:
        self.settle()
        key = self._inflight_key()
        if key is None:
            return
        returned = self.store.put_back(key)
        self._taken.clear()
        if returned > 0:
            if self.stats:
                self.stats.inc_value("distributed/requeued", returned)
            logger.warning(
                "Put %d unfinished request(s) back in the shared queue (closing: %s)",
                returned,
                reason,
            )


class RedisDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    """The shared seen-request set; kept when one worker closes (the run coordinator clears
    it when the whole run ends)."""

    def close(self, reason: str = "") -> None:
        return None
