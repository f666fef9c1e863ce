"""scrapy-redis's scheduler and dupefilter, fitted to the Scrapy version newsspider pins."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler


class RedisScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis's scheduler, with stats calls in the current Scrapy API (no ``spider``
    argument, which Scrapy 2.19 deprecates) and the queue kept between workers: a run's end
    is decided by the run coordinator, not by the first worker that closes."""

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
