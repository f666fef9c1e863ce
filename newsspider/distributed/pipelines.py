"""The distributed mode's item pipelines: workers hand finished items to the writer through
Redis, and the writer tells the workers what is archived, as soon as it is. The add-on puts them
in ``ITEM_PIPELINES`` by role (``newsspider.distributed.addon.DistributedAddon``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from newsspider.distributed.config import DistributedConfig
from newsspider.distributed.connection import redis_for
from newsspider.distributed.items import encode_item
from newsspider.distributed.knowledge import publish
from newsspider.extensions.archive import CrawlArchive
from newsspider.items import ArticleCheck, ArticleItem, FetchedPage

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class RedisItemQueuePipeline:
    """Pushes each fetched page and re-check (JSON) onto the shared list the writer reads
    (``<prefix>:items``); the writer makes the post and writes it, as a single-process crawl
    would. On only for distributed workers.
    Stats: ``distributed/items_pushed``.
    """

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.redis = redis_for(crawler)
        self.key = DistributedConfig.of(crawler).keys.items

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisItemQueuePipeline:
        if not DistributedConfig.of(crawler).enabled:
            raise NotConfigured
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchedPage | ArticleCheck):
            self.redis.rpush(self.key, encode_item(item))
            self.stats.inc_value("distributed/items_pushed")
        return item


class KnowledgePublisherPipeline:
    """After the archive writer, copies the article's index row into the shared hash the
    workers read (``<prefix>:archived``). On only for the distributed writer.
    Stats: ``distributed/published``."""

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.redis = redis_for(crawler)
        self.keys = DistributedConfig.of(crawler).keys

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnowledgePublisherPipeline:
        if not DistributedConfig.of(crawler).enabled:
            raise NotConfigured
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem | ArticleCheck):
            index = CrawlArchive.index_of(self.crawler)
            row = index.find(item.url, getattr(item, "docid", None))
            if row is not None:
                publish(self.redis, self.keys, [row])
                self.stats.inc_value("distributed/published")
        return item
