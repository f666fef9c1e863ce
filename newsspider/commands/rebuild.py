"""``scrapy rebuild``: re-render archived posts from their captured pages, without the network.

    scrapy rebuild --all [-s ARCHIVE_BODY=clean|verbatim]
    scrapy rebuild --since 2024-12-01 --channel china

Runs the ``sina_rebuild`` spider on the archive index: each selected article's latest captured
page (``ARCHIVE_WARC``) goes through the pipelines of a crawl, with today's code and settings.
A post whose bytes change is rewritten (its previous version kept in history), an unchanged one
is not touched, an article without a capture is counted and listed. The selection options are
``scrapy refresh``'s, and so is the check that ``ARCHIVE_DIR`` holds an index (exit 2 without).
"""

from __future__ import annotations

from scrapy.exceptions import UsageError

from newsspider.commands.crawl import run_settings
from newsspider.commands.refresh import Command as RefreshCommand
from newsspider.config import ImagesConfig, ImagesMode
from newsspider.spiders.base import ArticleSpider
from newsspider.spiders.sina_rebuild import SinaRebuildSpider


class Command(RefreshCommand):
    """Rebuild archived posts from their captures (a ``crawl`` of ``sina_rebuild``)."""

    spider: type[ArticleSpider] = SinaRebuildSpider
    verb = "rebuild"

    def short_desc(self) -> str:
        return "Re-render archived posts from their captured pages (ARCHIVE_WARC), offline"

    def _check_index(self) -> None:
        super()._check_index()
        assert self.settings is not None
        images = ImagesConfig.from_settings(run_settings(self.settings, self.spider))
        if images.mode is not ImagesMode.OFF and images.fetch:
            # The spider turns fetching off; only ARCHIVE_IMAGES_FETCH=True given by hand is
            # left, and a rebuild makes no request.
            raise UsageError(
                "scrapy rebuild makes no request, and ARCHIVE_IMAGES_FETCH=True fetches"
                " pictures; leave it out (posts show the pictures stored already)",
                print_help=False,
            )

    def _not_writing(self) -> None:
        """The captures are the archive's own: a process that does not write it (a distributed
        worker) has none to read."""
        raise UsageError(
            "scrapy rebuild reads the archive's own captures: run it where the archive is,"
            " without DISTRIBUTED_ENABLED",
            print_help=False,
        )
