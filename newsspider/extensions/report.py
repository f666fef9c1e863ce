"""A JSON report of each run: the stats, with every drop and failure reason.

Written to ``REPORT_DIR`` (default ``ARCHIVE_DIR/.newsspider/runs``) as ``<start time>.json``,
atomically. Hexo ignores folders that start with ``.``, so the report never shows up as a post.
``REPORT_ENABLED = False`` switches it off.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from newsspider.archive.files import write_atomic
from newsspider.archive.index import STATE_DIR
from newsspider.config import ArchiveConfig

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


class RunReport:
    """Writes ``<REPORT_DIR>/<start>.json`` when the spider closes; stats ``report/written``."""

    def __init__(self, crawler: Crawler, folder: Path) -> None:
        self.crawler = crawler
        self.folder = folder

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReport:
        if not crawler.settings.getbool("REPORT_ENABLED", True):
            raise NotConfigured
        folder = crawler.settings.get("REPORT_DIR") or (
            ArchiveConfig.from_settings(crawler.settings).root / STATE_DIR / "runs"
        )
        ext = cls(crawler, Path(folder))
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        assert stats is not None
        values = stats.get_stats()
        start = values.get("start_time") or datetime.now(UTC)
        report = {
            "spider": spider.name,
            "finish_reason": reason,
            "stats": {key: _jsonable(value) for key, value in sorted(values.items())},
        }
        name = start.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ") + ".json"
        path = self.folder / name
        data = json.dumps(report, ensure_ascii=False, indent=1).encode()
        try:
            write_atomic(path, data)
        except OSError as exc:
            logger.error("Could not write the run report %s: %s", path, exc)
            return
        logger.info("Run report: %s", path)
