"""The crawl's archive index, with one owner: opened once, when first asked for, and closed
when the spider closes.

The spiders ask it what is archived (``known``), the archive writer records what it writes, the
distributed writer publishes it: all of them reach the same :class:`ArchiveIndex` through
:meth:`CrawlArchive.index_of`, never through a registry of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals

from newsspider.archive.index import ArchiveIndex
from newsspider.config import ArchiveConfig

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler


class CrawlArchive:
    """Owns the archive index of one crawl (an extension).

    ``ARCHIVE_INDEX_BATCH`` rows or ``ARCHIVE_INDEX_BATCH_SECONDS`` make a transaction.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._index: ArchiveIndex | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlArchive:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlArchive:
        """The crawl's instance (enabled in ``EXTENSIONS``)."""
        ext = crawler.get_extension(cls)
        if ext is None:
            raise RuntimeError(f"{cls.__name__} is not enabled in EXTENSIONS")
        return ext

    @classmethod
    def index_of(cls, crawler: Crawler) -> ArchiveIndex:
        """The crawl's archive index, opened on first use."""
        return cls.of(crawler).index

    # The spiders' knowledge backend (``NEWSSPIDER_KNOWLEDGE``) is built by ``for_crawler``.
    for_crawler = index_of

    @property
    def index(self) -> ArchiveIndex:
        if self._index is None:
            settings = self.crawler.settings
            self._index = ArchiveIndex(
                ArchiveConfig.from_settings(settings).root,
                batch_size=settings.getint("ARCHIVE_INDEX_BATCH"),
                batch_seconds=settings.getfloat("ARCHIVE_INDEX_BATCH_SECONDS"),
            )
        return self._index

    def close(self) -> None:
        """Commit and close the index, if it was opened."""
        if self._index is not None:
            self._index.close()
            self._index = None

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.close()
