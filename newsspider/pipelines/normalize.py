"""The normalization pipeline: a fetched page in, the archive item of the article out.

The work is :func:`newsspider.post.build_post` (extraction, front matter, body, the post's
bytes), run in one of the crawl's worker processes: the page goes there once and the finished
item comes back once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from newsspider.config import Config
from newsspider.failures import NotArchived
from newsspider.items import FetchedPage
from newsspider.post import PostRules, Rejected, build_post
from newsspider.signals import page_extracted
from newsspider.stats import ARCHIVE_BODY, TEMPLATE
from newsspider.workers import WORKER_CRASHED, WorkerCrashed, WorkerPool

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class NormalizePipeline:
    """Turns each :class:`~newsspider.items.FetchedPage` into an
    :class:`~newsspider.items.ArticleItem` in the ``ARCHIVE_BODY``/``ARCHIVE_AUTHOR`` format;
    other items pass through.

    Drops a page that gives no post under the reason :func:`~newsspider.post.build_post`
    names (``sina/dropped/<reason>``: ``no_title``, ``no_date``, ``no_body``,
    ``not_article_page``, ``too_deep``), and fails one whose worker process died
    (``sina/failed/worker_crashed``, a failure of the run, not of the page). Neither is
    indexed, so the next run fetches it again. Sends ``page_extracted`` for every page
    extraction read. Stats: ``sina/template/<template>``, ``archive/body/<mode>``.
    """

    def __init__(self, crawler: Crawler, rules: PostRules) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.rules = rules
        self.signals = crawler.signals
        self.workers = WorkerPool.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        config = Config.of(crawler).archive
        return cls(crawler, PostRules(body=config.body, author=config.author))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        try:
            built = await self.workers.run(build_post, item, self.rules)
        except WorkerCrashed as exc:
            raise NotArchived(WORKER_CRASHED, str(exc), failed=True) from exc
        if built.template is not None:
            self.stats.inc_value(TEMPLATE + built.template)
            self.signals.send_catch_log(
                page_extracted, url=item.url, template=built.template, found=built.found
            )
            if built.template == "generic":
                # Not a loss: the drift check counts such pages and names them when many.
                logger.debug("%s matched no Sina template; used the generic extractor", item.url)
        if isinstance(built, Rejected):
            raise NotArchived(built.reason, built.detail)
        self.stats.inc_value(ARCHIVE_BODY + self.rules.body.value)
        return built
