"""Fail a run whose errors pass a threshold, so that schedulers notice."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals

from newsspider.config import Config
from newsspider.extensions.reachability import FAILED_STAT
from newsspider.stats import FAILED, IMAGES_REQUESTS, ROLL_FAILED, by_reason

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ErrorThreshold:
    """At the end of a run, counts failed requests and unusable roll pages (not dropped
    articles: a dead link is an answer). More than ``RUN_MAX_ERRORS``, or more than
    ``RUN_MAX_ERROR_RATIO`` of all requests, logs one line and marks the run failed
    (``scrapy crawl`` exits 1).

    ``RUN_MAX_ERRORS`` is a whole number from 0, ``RUN_MAX_ERROR_RATIO`` a share from 0 to 1. No
    share of requests can pass 1, so ``RUN_MAX_ERROR_RATIO=1`` with a large ``RUN_MAX_ERRORS``
    switches the threshold off."""

    def __init__(self, crawler: Crawler, max_errors: int, max_ratio: float) -> None:
        self.crawler = crawler
        self.max_errors = max_errors
        self.max_ratio = max_ratio

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ErrorThreshold:
        config = Config.of(crawler).run
        ext = cls(crawler, config.max_errors, config.max_error_ratio)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        assert stats is not None
        values = stats.get_stats()
        errors = sum(by_reason(values, FAILED).values()) + sum(
            by_reason(values, ROLL_FAILED).values()
        )
        # Picture requests are best effort and counted apart: they do not dilute the share.
        requests = int(values.get("downloader/request_count", 0)) - int(
            values.get(IMAGES_REQUESTS, 0)
        )
        over_count = errors > self.max_errors
        over_ratio = requests > 0 and errors / requests > self.max_ratio
        if not (over_count or over_ratio) or stats.get_value(FAILED_STAT):
            return
        logger.error(
            "Too many errors: %d failed request(s) or roll page(s) of %d requests "
            "(RUN_MAX_ERRORS=%d, RUN_MAX_ERROR_RATIO=%s); the run counts as failed.",
            errors,
            requests,
            self.max_errors,
            self.max_ratio,
        )
        stats.set_value(FAILED_STAT, "too_many_errors")
