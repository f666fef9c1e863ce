"""Distributed workers: hand finished items to the archive writer through Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from newsspider.items import ArticleCheck, ArticleItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class RedisItemQueuePipeline:
    """Pushes each extracted item (JSON) onto the shared list the writer reads
    (``<prefix>:items``); the writer normalizes and writes it. On only for distributed workers.
    Stats: ``distributed/items_pushed``.
    """

    def __init__(self, crawler: Crawler) -> None:
        from newsspider.distributed.connection import redis_for
        from newsspider.distributed.keys import Keys

        assert crawler.stats is not None
        self.stats = crawler.stats
        self.redis = redis_for(crawler)
        self.key = Keys.from_settings(crawler.settings).items

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisItemQueuePipeline:
        if not crawler.settings.getbool("NEWSSPIDER_DISTRIBUTED"):
            raise NotConfigured
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem | ArticleCheck):
            from newsspider.distributed.items import encode_item

            self.redis.rpush(self.key, encode_item(item))
            self.stats.inc_value("distributed/items_pushed")
        return item
