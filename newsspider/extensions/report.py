"""A JSON report of each run: what was asked, how it ended, and what was not archived, and why.

Written to ``REPORT_DIR`` (default ``ARCHIVE_DIR/.newsspider/runs``) as ``<start time>.json``,
atomically, when the spider closes. Hexo ignores folders that start with ``.``, so a report
never shows up as a post. The newest ``REPORT_KEEP`` reports are kept (0: all).
``REPORT_ENABLED = False`` switches it off.

A report holds: the spider and its arguments, the settings given on the command line, start and
end times, the exit code and the outcome (``finished``, ``failed (<reason>)``, ``internal
error``, ``interrupted (<signal>)``), Scrapy's finish reason, the counts of dropped and failed
articles by reason, up to 100 of them by URL with their reasons, and every stat.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES

from newsspider.archive.files import write_atomic
from newsspider.archive.index import STATE_DIR
from newsspider.config import Config
from newsspider.exitcodes import exit_code, outcome
from newsspider.extensions.outcomes import ArticleOutcomes
from newsspider.stats import DROPPED, FAILED, by_reason

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

REPORT_SUFFIX = ".json"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def prune_reports(folder: Path, keep: int) -> int:
    """Delete all but the newest ``keep`` reports in ``folder`` (0 keeps all); returns how many
    were deleted. Report names sort by time."""
    if keep <= 0:
        return 0
    reports = sorted(p for p in folder.glob(f"*{REPORT_SUFFIX}") if p.is_file())
    removed = 0
    for old in reports[:-keep]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
            removed += 1
    return removed


class RunReport:
    """Writes ``<REPORT_DIR>/<start>.json`` when the spider closes and prunes old reports."""

    def __init__(self, crawler: Crawler, folder: Path, keep: int) -> None:
        self.crawler = crawler
        self.folder = folder
        self.keep = keep

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReport:
        config = Config.of(crawler)
        if not config.report.enabled:
            raise NotConfigured
        folder = config.report.folder or config.archive.root / STATE_DIR / "runs"
        ext = cls(crawler, folder, config.report.keep)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _given_settings(self) -> dict[str, Any]:
        settings = self.crawler.settings
        given = SETTINGS_PRIORITIES["cmdline"]
        return {
            name: _jsonable(settings[name])
            for name in sorted(settings.attributes)
            if (settings.getpriority(name) or 0) >= given
        }

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        assert stats is not None
        values = stats.get_stats()
        start = values.get("start_time") or datetime.now(UTC)
        examples = ArticleOutcomes.of(self.crawler).examples
        report = {
            "spider": spider.name,
            "arguments": dict(getattr(spider, "arguments", {})),
            "settings": self._given_settings(),
            "start_time": _jsonable(start),
            "finish_time": _jsonable(values.get("finish_time") or datetime.now(UTC)),
            "exit_code": exit_code(values),
            "outcome": outcome(values),
            "finish_reason": reason,
            "dropped": dict(sorted(by_reason(values, DROPPED).items())),
            "failed": dict(sorted(by_reason(values, FAILED).items())),
            "not_archived": [{"url": e.url, "kind": e.kind, "reason": e.reason} for e in examples],
            "stats": {key: _jsonable(value) for key, value in sorted(values.items())},
        }
        name = start.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ") + REPORT_SUFFIX
        path = self.folder / name
        data = json.dumps(report, ensure_ascii=False, indent=1).encode()
        try:
            write_atomic(path, data)
            prune_reports(self.folder, self.keep)
        except OSError as exc:
            logger.error("Could not write the run report %s: %s", path, exc)
            return
        logger.info("Run report: %s", path)
