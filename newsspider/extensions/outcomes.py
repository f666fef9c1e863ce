"""What became of every article the run was asked for but did not archive, in one place.

Every article listed or asked for ends archived, counted under a named reason with one log
line, or retried by the next run (it is not indexed). :class:`ArticleOutcomes` is where the
spiders count and log the second kind (``sina/dropped/<reason>`` for an answer that is not an
article to archive, ``sina/failed/<reason>`` for a request that failed), and where the run report
finds up to :data:`EXAMPLES` of them by URL. Pipelines drop items with ``DropItem("<reason>:
…")``; the examples pick those up from Scrapy's ``item_dropped`` signal.

It is also the safety net for what nobody foresaw: an exception that escapes a spider callback
or an item pipeline is counted as ``sina/failed/internal_error`` (Scrapy logs it once, with its
traceback), counts toward the error threshold, and makes the run exit 70. And it notes the
signal (SIGINT, SIGTERM) that stopped a run, so that the run exits 130 or 143, not 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals

from newsspider.exitcodes import INTERNAL_ERROR_STAT, INTERRUPTED_STAT
from newsspider.failures import NotArchived
from newsspider.stats import dropped, failed

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

EXAMPLES = 100
SHUTDOWN = "shutdown"
"""The reason Scrapy closes a spider with when its crawl is stopped before it finished."""

# Scrapy's own lines about a download over DOWNLOAD_MAXSIZE: the failed request's one line
# (``too_large``) says it.
_MAXSIZE_LOGGER = "scrapy.core.downloader.handlers.http11"


class _DropMaxsizeLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "larger than download max size" not in record.getMessage()


@dataclass(frozen=True)
class Example:
    """One article not archived: its URL, ``dropped`` or ``failed``, and the reason."""

    url: str
    kind: str
    reason: str


class ArticleOutcomes:
    """Counts, logs and keeps examples of the articles a run did not archive (see the module
    docstring). Built by Scrapy as an extension; components reach it with :meth:`of`."""

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.examples: list[Example] = []
        self._filter = _DropMaxsizeLines()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticleOutcomes:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_error, signal=signals.spider_error)
        crawler.signals.connect(ext.item_error, signal=signals.item_error)
        crawler.signals.connect(ext.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        logging.getLogger(_MAXSIZE_LOGGER).addFilter(ext._filter)
        return ext

    @classmethod
    def of(cls, crawler: Crawler) -> ArticleOutcomes:
        """The crawl's instance; a detached one (counting into the same stats) when the
        extension is not enabled, as in tests that call a spider without a crawl."""
        return crawler.get_extension(cls) or cls(crawler)

    # --- what spiders and pipelines report ------------------------------------------------------

    def dropped(self, url: str, reason: str, message: str) -> None:
        """An answer that is not an article to archive: counted, logged at INFO."""
        self.stats.inc_value(dropped(reason))
        logger.info("Dropped %s: %s", url, message)
        self._note(url, "dropped", reason)

    def failed(self, url: str, reason: str, message: str) -> None:
        """A request that failed: counted (the error threshold sees it), logged at WARNING."""
        self.stats.inc_value(failed(reason))
        logger.warning("Request failed: %s (%s)", url, message)
        self._note(url, "failed", reason)

    def _note(self, url: str, kind: str, reason: str) -> None:
        if len(self.examples) < EXAMPLES:
            self.examples.append(Example(url, kind, reason))

    # --- signals -------------------------------------------------------------------------------

    def item_dropped(
        self, item: Any, response: Response | None, exception: BaseException, spider: Spider
    ) -> None:
        """Count an article a pipeline did not pass on (Scrapy logged it); a ``DropItem`` that
        is not :class:`~newsspider.failures.NotArchived` (another project's pipeline) is kept as
        an example only."""
        if isinstance(exception, NotArchived):
            reason, kind = exception.reason, "failed" if exception.failed else "dropped"
            self.stats.inc_value(failed(reason) if exception.failed else dropped(reason))
        else:
            reason = str(exception).partition(":")[0].strip() or type(exception).__name__
            kind = "dropped"
        self._note(str(getattr(item, "url", "") or "item"), kind, reason)

    def spider_error(self, failure: Failure, response: Response, spider: Spider) -> None:
        self.stats.inc_value(INTERNAL_ERROR_STAT)
        self._note(response.url, "failed", "internal_error")

    def item_error(
        self, item: Any, response: Response | None, spider: Spider, failure: Failure
    ) -> None:
        self.stats.inc_value(INTERNAL_ERROR_STAT)
        self._note(str(getattr(item, "url", "") or "item"), "failed", "internal_error")

    def engine_started(self) -> None:
        """Note the signal that stops the run: Scrapy's own handlers are in place by now, and
        still do the stopping."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if callable(previous):
                signal.signal(signum, self._noting(previous))

    def _noting(self, previous: Any) -> Any:
        def handler(signum: int, frame: Any) -> None:
            if not self.stats.get_value(INTERRUPTED_STAT):
                self.stats.set_value(INTERRUPTED_STAT, signal.Signals(signum).name)
            previous(signum, frame)

        return handler

    def spider_closed(self, spider: Spider, reason: str) -> None:
        logging.getLogger(_MAXSIZE_LOGGER).removeFilter(self._filter)
        # Scrapy closes with "shutdown" when the crawl is stopped from outside: a signal that
        # came before engine_started (Scrapy's handler stops the crawl, ours never saw it), or
        # code stopping the crawler. Either way the run did not finish, so it never exits 0.
        if reason == SHUTDOWN and not self.stats.get_value(INTERRUPTED_STAT):
            self.stats.set_value(INTERRUPTED_STAT, SHUTDOWN)
