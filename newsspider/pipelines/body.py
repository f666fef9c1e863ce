"""The post body, in the mode ``ARCHIVE_BODY`` picks (``clean`` or ``verbatim``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from newsspider.archive.body import BodyMode, post_content, render_body
from newsspider.config import ArchiveConfig
from newsspider.items import ArticleItem
from newsspider.pipelines.normalize import drop, worker_failure
from newsspider.workers import WorkerCrashed, WorkerPool

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class BodyPipeline:
    """Sets ``body`` (the post content after the front matter) and ``headimg``.

    Drops ``no_body`` when the page had no article container or nothing in it, and fails
    (``sina/failed/worker_crashed``) when the worker process rendering it died. Rendering runs in
    the crawl's worker processes (``WORKER_PROCESSES``). Stats: ``archive/body/<mode>``.
    """

    def __init__(self, crawler: Crawler, mode: BodyMode) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.mode = mode
        self.workers = WorkerPool.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BodyPipeline:
        return cls(crawler, ArchiveConfig.from_settings(crawler.settings).body)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        if item.body_html is None:
            raise drop(self.stats, item, "no_body", "the page has no article body")
        try:
            rendered = await self.workers.run(render_body, item.body_html, item.url, self.mode)
        except WorkerCrashed as exc:
            raise worker_failure(self.stats, item, exc) from exc
        if rendered is None:
            raise drop(self.stats, item, "no_body", "the article body is empty")
        item.body = post_content(rendered.html, self.mode)
        item.headimg = rendered.headimg
        self.stats.inc_value(f"archive/body/{self.mode.value}")
        return item
