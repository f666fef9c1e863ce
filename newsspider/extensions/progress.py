"""Progress and summary lines: what a run has done, in words a scheduler log can keep."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from newsspider import stats as names
from newsspider.config import Config
from newsspider.exitcodes import outcome

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def _sum(values: dict[str, Any], prefix: str) -> tuple[int, dict[str, int]]:
    parts = names.by_reason(values, prefix)
    return sum(parts.values()), parts


def describe(stats: dict[str, Any]) -> str:
    """One line of what the stats say: roll pages, articles new/updated/unchanged/gone,
    dropped and failed with their reasons."""
    dropped, drop_reasons = _sum(stats, names.DROPPED)
    failed, fail_reasons = _sum(stats, names.FAILED)
    roll_failed, _ = _sum(stats, names.ROLL_FAILED)
    parts = []
    if names.REFRESH_CHECKED in stats:
        parts.append(f"checked {stats[names.REFRESH_CHECKED]}")
    else:
        reached = stats.get(names.ROLL_REACHED)
        parts.append(
            f"roll pages {stats.get(names.ROLL_PAGES, 0)}"
            + (f" (failed {roll_failed})" if roll_failed else "")
            + (f", reached {reached}" if reached else "")
        )
    parts.append(
        f"new {stats.get(names.ARCHIVE_NEW, 0)}, updated {stats.get(names.ARCHIVE_UPDATED, 0)}, "
        f"unchanged {stats.get(names.ARCHIVE_UNCHANGED, 0)}, "
        f"gone {stats.get(names.ARCHIVE_GONE, 0)}"
    )
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(drop_reasons.items()))
    parts.append(f"dropped {dropped}" + (f" ({reasons})" if reasons else ""))
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(fail_reasons.items()))
    parts.append(f"failed {failed}" + (f" ({reasons})" if reasons else ""))
    return "; ".join(parts)


class Progress:
    """Logs a progress line every ``RUN_PROGRESS_INTERVAL`` seconds (0: never) and one summary
    line when the spider closes; ``RUN_PROGRESS_ENABLED=False`` switches both off."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self._task: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        config = Config.of(crawler).run
        if not config.progress_enabled:
            raise NotConfigured
        ext = cls(crawler, config.progress_interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _stats(self) -> dict[str, Any]:
        assert self.crawler.stats is not None
        return dict(self.crawler.stats.get_stats())

    def spider_opened(self, spider: Spider) -> None:
        if self.interval > 0:
            self._task = task.LoopingCall(self.log_progress)
            self._task.start(self.interval, now=False)

    def log_progress(self) -> None:
        logger.info("Progress: %s", describe(self._stats()))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        stats = self._stats()
        # How the run ended as its exit code sees it (failed, interrupted), not only Scrapy's
        # reason: the error threshold and the drift check have had their say by now.
        logger.info("Summary (%s, %s): %s", spider.name, outcome(stats), describe(stats))
