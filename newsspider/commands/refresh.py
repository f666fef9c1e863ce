"""``scrapy refresh``: re-check archived articles and update the posts that changed.

    scrapy refresh --all
    scrapy refresh --since 2024-12-01 --channel china
    scrapy refresh --older-than 30

Runs the ``sina_refresh`` spider on the archive index, with conditional requests; a 304 costs
no parsing. Ends with a summary line: checked / updated / unchanged / gone / failed.
"""

from __future__ import annotations

import argparse

from newsspider.commands.crawl import Command as CrawlCommand


class Command(CrawlCommand):
    """Refresh archived articles (a ``crawl`` of ``sina_refresh`` with a selection)."""

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
        super().run(["sina_refresh", *args], opts)
