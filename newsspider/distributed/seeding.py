"""Who starts a distributed run: a spider middleware, so that the spiders need not know.

One worker of a run seeds it (its spider's start requests go to the shared queue); the others
join the run and take requests from that queue. Every worker waits for the writer first
(``DISTRIBUTED_WRITER_WAIT``): without one, nothing would be written, so the worker stops with
one line and the run failed (``no_writer``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from newsspider.distributed.coordinator import RunCoordinator
from newsspider.exitcodes import FAILED_STAT

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class DistributedSeeding:
    """Passes the spider's start requests on only in the worker that seeds the run."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedSeeding:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        coordinator = RunCoordinator.for_crawler(self.crawler)
        if not await coordinator.wait_for_writer():
            assert self.crawler.stats is not None
            self.crawler.stats.set_value(FAILED_STAT, "no_writer")
            return
        if not await coordinator.claim_seed():
            return  # joined a run another worker seeded
        async for request in start:
            yield request
