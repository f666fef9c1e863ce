"""The crawl's archive, with one owner: opened once, when the crawl is built, and closed when
the spider closes.

A crawl that writes the archive (``ARCHIVE_WRITES``, on unless an add-on says otherwise) opens
it as an :class:`~newsspider.archive.store.ArchiveStore`: the lock is taken then, before
anything is fetched, and a second run on the same archive stops there
(:class:`~newsspider.archive.lock.ArchiveLockedError`; the crawl command makes it exit 75).
A crawl that does not write reads the index without creating or changing anything.

The spiders ask it what is archived (``known``), the archive writer writes through its store,
the distributed writer publishes its index: all of them reach the same objects through
:meth:`CrawlArchive.of`, never through a registry of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from scrapy import signals

from newsspider.archive.index import ArchiveIndex
from newsspider.archive.store import ArchiveStore
from newsspider.config import Config
from newsspider.stats import ARCHIVE_RECOVERED, ARCHIVE_REPAIRED, ARCHIVE_TEMP_REMOVED

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class CrawlArchive:
    """Owns the archive of one crawl (an extension).

    ``ARCHIVE_INDEX_BATCH`` rows or ``ARCHIVE_INDEX_BATCH_SECONDS`` make a transaction.
    Stats: ``archive/temp_removed``, ``archive/recovered``, ``archive/repaired``.
    """

    def __init__(self, store: ArchiveStore | None, index: ArchiveIndex) -> None:
        self.store = store
        self.index = index
        self._closing: list[Callable[[], None]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlArchive:
        config = Config.of(crawler).archive
        if config.writes:
            store = config.open_store()
            assert crawler.stats is not None
            _report(store, crawler.stats)
            ext = cls(store, store.index)
        else:
            ext = cls(None, ArchiveIndex.read_only(config.root))
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
        """The crawl's archive index."""
        return cls.of(crawler).index

    @classmethod
    def store_of(cls, crawler: Crawler) -> ArchiveStore:
        """The crawl's archive store; ``RuntimeError`` in a crawl that does not write."""
        store = cls.of(crawler).store
        if store is None:
            raise RuntimeError("this crawl does not write the archive (ARCHIVE_WRITES is off)")
        return store

    # The spiders' knowledge backend (``ARCHIVE_KNOWLEDGE``) is built by ``for_crawler``.
    for_crawler = index_of

    def closing(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the archive closes, before its lock is given back: what a
        component writes beside the archive is finished before another run may write."""
        self._closing.append(callback)

    def close(self) -> None:
        """Commit and close the archive (and give its lock back); a second call does nothing."""
        while self._closing:
            self._closing.pop()()
        if self.store is not None:
            self.store.close()
        else:
            self.index.close()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.close()


def _report(store: ArchiveStore, stats: StatsCollector) -> None:
    opened = store.opened
    if opened.temp_removed:
        stats.inc_value(ARCHIVE_TEMP_REMOVED, opened.temp_removed)
        logger.info("Removed %d temp file(s) left by an interrupted run", opened.temp_removed)
    if opened.recovered:
        stats.inc_value(ARCHIVE_RECOVERED, opened.recovered)
        logger.info("Indexed %d post(s) an interrupted run wrote", opened.recovered)
    for line in opened.repairs:
        logger.warning("Repaired the index: %s", line)
    if opened.repairs:
        stats.inc_value(ARCHIVE_REPAIRED, len(opened.repairs))
    if opened.pictures_recorded:
        logger.info(
            "Recorded in the index the pictures of %d post(s) archived without them",
            opened.pictures_recorded,
        )
