"""The distributed mode's add-on: what ``DISTRIBUTED_ENABLED`` switches on, by role."""

from __future__ import annotations

from scrapy.settings import BaseSettings

from newsspider.distributed.config import SETTINGS as DISTRIBUTED_SETTINGS
from newsspider.distributed.config import DistributedConfig, Role


class DistributedAddon:
    """``DISTRIBUTED_ENABLED``: plug scrapy-redis in, by role (``DISTRIBUTED_ROLE``).

    * Workers (``scrapy crawl sina_finance``, ``sina_refresh``): scrapy-redis's scheduler and
      dupefilter on shared keys, the run coordinator, what is archived read from Redis, and
      fetched pages pushed to Redis instead of made into posts and written.
    * The writer (``scrapy crawl sina_writer``): the item pipelines of a single-process crawl
      (so ``ARCHIVE_*`` settings are the writer's alone: posts are made and written there),
      then the publisher of what is archived.

    With the setting off, nothing changes and nothing about Redis is imported. The mode's own
    settings (:data:`SETTINGS`) are checked with the core's before a crawl.
    """

    SETTINGS = DISTRIBUTED_SETTINGS

    def update_settings(self, settings: BaseSettings) -> None:
        config = DistributedConfig.from_settings(settings)
        if not config.enabled:
            return
        checks = [
            *settings.getlist("RUN_PREFLIGHT"),
            # Page capture is not supported here: the pages are the workers', the archive the
            # writer's.
            "newsspider.capture.refuse_distributed",
            "newsspider.distributed.connection.preflight",
        ]
        settings.set("RUN_PREFLIGHT", list(dict.fromkeys(checks)), "spider")
        pipelines = dict(settings.getdict("ITEM_PIPELINES"))
        if config.role is Role.WRITER:
            pipelines["newsspider.distributed.pipelines.KnowledgePublisherPipeline"] = 900
            settings.set("ITEM_PIPELINES", pipelines, priority="spider")
            return
        # Workers never write the archive: the writer does, and holds its lock.
        settings.set("ARCHIVE_WRITES", False, "spider")
        middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
        middlewares["newsspider.distributed.seeding.DistributedSeeding"] = 50
        settings.set("SPIDER_MIDDLEWARES", middlewares, "spider")
        settings.set("SCHEDULER", "newsspider.distributed.scheduler.RedisScheduler", "spider")
        settings.set(
            "DUPEFILTER_CLASS", "newsspider.distributed.scheduler.RedisDupeFilter", "spider"
        )
        settings.set("SCHEDULER_PERSIST", True, "spider")
        settings.set("SCHEDULER_QUEUE_KEY", config.keys.requests, "spider")
        settings.set("SCHEDULER_DUPEFILTER_KEY", config.keys.dupefilter, "spider")
        knowledge = "newsspider.distributed.knowledge.RedisKnowledge"
        settings.set("ARCHIVE_KNOWLEDGE", knowledge, "spider")
        queue = {"newsspider.distributed.pipelines.RedisItemQueuePipeline": 800}
        settings.set("ITEM_PIPELINES", queue, "spider")
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions["newsspider.distributed.coordinator.RunCoordinator"] = 100
        settings.set("EXTENSIONS", extensions, "spider")
