"""Writes each post into the archive, atomically, with the Hexo post exporter."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

from newsspider.archive.files import write_atomic
from newsspider.archive.paths import PostPaths
from newsspider.config import ArchiveConfig
from newsspider.exporters import HexoPostExporter
from newsspider.items import ArticleItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ArchiveWriterPipeline:
    """Renders each item with ``HexoPostExporter`` and writes it under ``ARCHIVE_DIR``.

    A post is written through a temp file and a rename; a post whose bytes did not change is
    not touched. Sets ``post_path`` (relative to ``ARCHIVE_DIR``).
    Stats: ``archive/written``, ``archive/unchanged``.
    """

    def __init__(self, crawler: Crawler, config: ArchiveConfig) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.config = config
        self.paths = PostPaths(config.root)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveWriterPipeline:
        return cls(crawler, ArchiveConfig.from_settings(crawler.settings))

    def open_spider(self) -> None:
        self.config.root.mkdir(parents=True, exist_ok=True)
        logger.info("Archive: %s (body: %s)", self.config.root, self.config.body.value)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        assert item.title is not None and item.date is not None
        path = self.paths.assign(
            url=item.url,
            docid=item.docid,
            title=item.title,
            date=item.date,
            categories=item.categories,
        )
        buffer = io.BytesIO()
        exporter = HexoPostExporter(buffer)
        exporter.start_exporting()
        exporter.export_item(item)
        exporter.finish_exporting()
        relative = path.relative_to(self.config.root)
        if write_atomic(path, buffer.getvalue(), fsync=self.config.fsync):
            self.stats.inc_value("archive/written")
            logger.debug("Wrote %s", relative)
        else:
            self.stats.inc_value("archive/unchanged")
        item.post_path = relative.as_posix()
        return item
