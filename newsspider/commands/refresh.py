"""``scrapy refresh``: re-check archived articles and update the posts that changed.

    scrapy refresh --all
    scrapy refresh --since 2024-12-01 --channel china
    scrapy refresh --older-than 30

Runs the ``sina_refresh`` spider on the archive index, with conditional requests; a 304 costs
no parsing. Ends with a summary line: checked / updated / unchanged / gone / failed. An
``ARCHIVE_DIR`` without an index (missing, mistyped, never crawled) is a usage error (exit 2):
there is nothing to refresh, and a scheduler must not read that as success.
"""

from __future__ import annotations

import argparse

from scrapy.exceptions import UsageError

from newsspider.archive.index import INDEX_NAME, STATE_DIR
from newsspider.commands.crawl import Command as CrawlCommand
from newsspider.commands.crawl import run_settings
from newsspider.config import ArchiveConfig, ConfigError, validate_settings
from newsspider.spiders.base import ArticleSpider
from newsspider.spiders.sina_refresh import SinaRefreshSpider


class Command(CrawlCommand):
    """Refresh archived articles (a ``crawl`` of ``sina_refresh`` with a selection)."""

    spider: type[ArticleSpider] = SinaRefreshSpider
    """The spider the command runs, with the selection as its arguments."""
    verb = "refresh"

    def syntax(self) -> str:
        return "[--all | --since DATE | --older-than DAYS | --channel NAME] [options]"

    def short_desc(self) -> str:
        return "Re-check archived articles (conditional requests) and update changed posts"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        group = parser.add_argument_group("Refresh selection (filters combine)")
        group.add_argument("--all", action="store_true", help="every archived article")
        group.add_argument("--since", metavar="DATE", help="listed since DATE (Beijing time)")
        group.add_argument(
            "--older-than", metavar="DAYS", help="last checked more than DAYS days ago"
        )
        group.add_argument("--channel", metavar="NAME", help="one channel (see scrapy channels)")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        selection = {
            "all": "1" if opts.all else None,
            "since": opts.since,
            "older_than": opts.older_than,
            "channel": opts.channel,
        }
        opts.spargs.update({k: v for k, v in selection.items() if v is not None})

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        self._check_index()
        super().run([self.spider.name, *args], opts)

    def _not_writing(self) -> None:
        """A process that does not write the archive (a distributed worker) may refresh."""

    def _check_index(self) -> None:
        """Stop with a usage error unless ``ARCHIVE_DIR`` holds an archive index; checked
        before the crawl command creates anything (its lock) in that folder. Distributed
        workers are exempt: they learn the archive from the writer, not from a local index."""
        assert self.settings is not None
        try:
            validate_settings(self.settings)  # first: a bad value is named as such
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from None
        config = ArchiveConfig.from_settings(run_settings(self.settings, self.spider))
        if not config.writes:
            self._not_writing()
            return
        root = config.root
        index = root / STATE_DIR / INDEX_NAME
        if not root.is_dir():
            raise UsageError(f"no archive at {root}; nothing to {self.verb}", print_help=False)
        if not index.is_file():
            raise UsageError(
                f"no archive index at {index}; nothing to {self.verb} (a crawl builds the index)",
                print_help=False,
            )
