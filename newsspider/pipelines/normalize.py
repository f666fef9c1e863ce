"""Front matter fields: title, date, categories, author, comments."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from newsspider.config import SITE_AUTHOR, ArchiveConfig, AuthorMode
from newsspider.items import ArticleItem
from newsspider.sina.article import looks_like_article
from newsspider.sina.channels import get_channel
from newsspider.workers import WORKER_CRASHED

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def drop(stats: StatsCollector, item: ArticleItem, reason: str, detail: str) -> DropItem:
    """Count a dropped article under ``sina/dropped/<reason>`` and build the exception."""
    stats.inc_value(f"sina/dropped/{reason}")
    return DropItem(f"{reason}: {detail}")


def worker_failure(stats: StatsCollector, item: ArticleItem, error: Exception) -> DropItem:
    """Count an article lost to a crashed worker process under ``sina/failed/worker_crashed``
    (a failure of the run, not of the page: the run's error threshold counts it) and build the
    exception that drops it. It is not indexed, so the next run fetches it again."""
    stats.inc_value(f"sina/failed/{WORKER_CRASHED}")
    return DropItem(f"{WORKER_CRASHED}: {error}")


NOT_ARTICLE_PAGE = "not_article_page"
"""The drop reason of a page that no Sina template read and that does not look like the
article (:func:`newsspider.sina.article.looks_like_article`)."""


class NormalizePipeline:
    """Sets ``title`` (the roll's, else the page's, trimmed), ``date`` (roll ``intime``, else
    ``article:published_time``, else the displayed date), ``categories`` from the channel,
    ``author`` per ``ARCHIVE_AUTHOR`` and ``comments`` (false).

    Drops ``no_title``, ``no_date``, and ``not_article_page`` for a ``meta`` or ``generic`` page
    that does not look like the article the roll listed (an error page, a wall, a channel page,
    another article; for ``-a urls``, a page without a title of its own or enough text). Dropped
    pages are not indexed, so the next run fetches them again.
    """

    def __init__(self, crawler: Crawler, author: AuthorMode) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.author = author

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler, ArchiveConfig.from_settings(crawler.settings).author)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        title = (item.roll_title or "").strip() or (item.page_title or "").strip()
        if not title:
            raise drop(self.stats, item, "no_title", "neither the roll nor the page has a title")
        # Here rather than in the spider: the roll title is on the item, and a page known to be
        # no article is dropped before any body is rendered.
        why = looks_like_article(item, item.roll_title)
        if why is not None:
            raise drop(self.stats, item, NOT_ARTICLE_PAGE, why)
        date = item.listed_at or item.published_at or item.displayed_at
        if date is None:
            raise drop(self.stats, item, "no_date", "no roll time and no date on the page")
        item.title = title
        item.date = date
        item.categories = list(get_channel(item.channel).categories)
        source = (item.source or "").strip()
        item.author = source if self.author is AuthorMode.SOURCE and source else SITE_AUTHOR
        item.comments = False
        return item
