"""Say clearly, once, when Sina could not be reached at all, and fail the run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured

from newsspider.config import Config
from newsspider.exitcodes import FAILED_STAT
from newsspider.failures import UNREACHABLE
from newsspider.stats import UNREACHABLE as UNREACHABLE_STAT

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# Loggers that attach a full traceback to a plain network error.
_NOISY_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt",)


class OneLineNetworkErrors(logging.Filter):
    """Drops the traceback from records about connection-level errors: the message says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ in UNREACHABLE:
            record.exc_info = None
            record.exc_text = None
        return True


__all__ = ["FAILED_STAT", "OneLineNetworkErrors", "SinaReachability"]


class SinaReachability:
    """At the end of a crawl, checks that Sina answered at least once.

    When every request failed with a connection-level error (DNS, refused, timeout), logs one
    line naming the errors, sets ``sina/unreachable`` and ``newsspider/run_failed`` so that
    ``scrapy crawl`` exits non-zero. Connection errors are logged without tracebacks.
    ``SINA_REACHABILITY_ENABLED`` switches it off.
    """

    def __init__(self, crawler: Crawler, mirror: str) -> None:
        self.crawler = crawler
        self.mirror = mirror
        self._filter = OneLineNetworkErrors()
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SinaReachability:
        config = Config.of(crawler).sina
        if not config.reachability_enabled:
            raise NotConfigured
        ext = cls(crawler, config.mirror)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Spider, reason: str) -> None:
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)
        stats = self.crawler.stats
        assert stats is not None
        responses = stats.get_value("downloader/response_count", 0)
        prefix = "downloader/exception_type_count/"
        errors = {
            key.removeprefix(prefix).rpartition(".")[2]: value
            for key, value in stats.get_stats().items()
            if key.startswith(prefix)
        }
        unreachable = {name: n for name, n in errors.items() if name in UNREACHABLE}
        if responses or not unreachable:
            return
        listed = ", ".join(f"{name} x{n}" for name, n in sorted(unreachable.items()))
        target = f"the mirror {self.mirror}" if self.mirror else "Sina"
        logger.error(
            "Sina could not be reached: no request to %s got an answer (%s). "
            "Check the network, DNS and proxy settings%s.",
            target,
            listed,
            "" if self.mirror else ", or set SINA_MIRROR",
        )
        stats.set_value(UNREACHABLE_STAT, 1)
        stats.set_value(FAILED_STAT, "sina_unreachable")
