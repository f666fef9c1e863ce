"""Settings that depend on other settings, applied once at start-up."""

from __future__ import annotations

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from newsspider.config import parse_mirror


class PolitenessAddon:
    """AutoThrottle and a download delay for the real Sina hosts; none against a mirror.

    A mirror (``SINA_MIRROR``) is the user's own server, so throttling it only slows the
    crawl. A value given on the command line (``-s AUTOTHROTTLE_ENABLED=…``) always wins.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        mirrored = bool(parse_mirror(settings.get("SINA_MIRROR")))
        self._default(settings, "AUTOTHROTTLE_ENABLED", not mirrored)
        if mirrored:
            self._default(settings, "DOWNLOAD_DELAY", 0)

    @staticmethod
    def _default(settings: BaseSettings, name: str, value: object) -> None:
        if (settings.getpriority(name) or 0) < SETTINGS_PRIORITIES["cmdline"]:
            settings.set(name, value, priority="spider")


class DistributedAddon:
    """``NEWSSPIDER_DISTRIBUTED``: plug scrapy-redis in, by role.

    * Workers (``scrapy crawl sina_finance``, ``sina_refresh``): scrapy-redis's scheduler and
      dupefilter on shared keys, the run coordinator, what is archived read from Redis, and
      fetched pages pushed to Redis instead of made into posts and written.
    * The writer (``scrapy crawl sina_writer``): the item pipelines of a single-process crawl
      (so ``ARCHIVE_*`` settings are the writer's alone: posts are made and written there),
      then the publisher of what is archived.

    With the setting off, nothing changes and nothing about Redis is imported.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.getbool("NEWSSPIDER_DISTRIBUTED"):
            return
        prefix = str(settings.get("NEWSSPIDER_REDIS_PREFIX") or "newsspider")
        checks = [*settings.getlist("RUN_PREFLIGHT"), "newsspider.distributed.connection.preflight"]
        settings.set("RUN_PREFLIGHT", list(dict.fromkeys(checks)), "spider")
        pipelines = dict(settings.getdict("ITEM_PIPELINES"))
        if settings.get("NEWSSPIDER_ROLE") == "writer":
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
        settings.set("SCHEDULER_QUEUE_KEY", f"{prefix}:requests", "spider")
        settings.set("SCHEDULER_DUPEFILTER_KEY", f"{prefix}:dupefilter", "spider")
        settings.set(
            "NEWSSPIDER_KNOWLEDGE", "newsspider.distributed.knowledge.RedisKnowledge", "spider"
        )
        queue = {"newsspider.distributed.pipelines.RedisItemQueuePipeline": 800}
        settings.set("ITEM_PIPELINES", queue, "spider")
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions["newsspider.distributed.coordinator.RunCoordinator"] = 100
        settings.set("EXTENSIONS", extensions, "spider")
