"""Distributed writer: tell the workers what is archived, as soon as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from newsspider.archive.index import ArchiveIndex
from newsspider.items import ArticleCheck, ArticleItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class KnowledgePublisherPipeline:
    """After the archive writer, copies the article's index row into the shared hash the
    workers read (``<prefix>:archived``). On only for the distributed writer.
    Stats: ``distributed/published``."""

    def __init__(self, crawler: Crawler) -> None:
        from newsspider.distributed.connection import redis_for
        from newsspider.distributed.keys import Keys

        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.redis = redis_for(crawler)
        self.keys = Keys.from_settings(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnowledgePublisherPipeline:
        if not crawler.settings.getbool("NEWSSPIDER_DISTRIBUTED"):
            raise NotConfigured
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem | ArticleCheck):
            from newsspider.distributed.knowledge import publish

            index = ArchiveIndex.for_crawler(self.crawler)
            row = index.find(item.url, getattr(item, "docid", None))
            if row is not None:
                publish(self.redis, self.keys, [row])
                self.stats.inc_value("distributed/published")
        return item
