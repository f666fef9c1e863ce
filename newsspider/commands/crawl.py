"""``scrapy crawl`` that also exits non-zero when the run itself failed.

Scrapy's own command exits 1 only when the crawler could not start; schedulers also need to
notice a run that started but could not reach Sina. Extensions mark such a run with the stat
``newsspider/run_failed``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from newsspider.extensions.reachability import FAILED_STAT

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class Command(ScrapyCrawlCommand):  # type: ignore[misc]
    """Run a spider; exit 1 when it could not start or when ``newsspider/run_failed`` is set."""

    _crawler: Crawler | None = None

    def _create_crawler(self, spname: str) -> Crawler:
        crawler: Crawler = super()._create_crawler(spname)
        self._crawler = crawler
        return crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        stats = self._crawler.stats if self._crawler is not None else None
        if self.exitcode == 0 and stats is not None and stats.get_value(FAILED_STAT):
            self.exitcode = 1
