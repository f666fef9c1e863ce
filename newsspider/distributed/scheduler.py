"""scrapy-redis's scheduler and dupefilter, fitted to the Scrapy version newsspider pins."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, Spider
from scrapy.utils.misc import load_object
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler

logger = logging.getLogger(__name__)


class RedisScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis's scheduler in the current Scrapy API: stats calls without the ``spider``
    argument and logging through a logger instead of ``Spider.log()`` (both deprecated in
    Scrapy 2.19). The queue is kept when a worker closes: the run coordinator decides when a
    run is over."""

    def open(self, spider: Spider) -> None:
        self.spider = spider
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

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Any:
        request = self.queue.pop(self.idle_before_close)
        if request and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request


class RedisDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    """The shared seen-request set; kept when one worker closes (the run coordinator clears
    it when the whole run ends)."""

    def close(self, reason: str = "") -> None:
        return None
