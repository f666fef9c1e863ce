"""What every newsspider spider does with an article page: fetch it (conditionally when it is
already archived), route the answer, count what goes wrong."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from functools import cached_property
from typing import Any, TypeGuard

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import load_object
from twisted.python.failure import Failure

from newsspider.archive.index import GONE, IndexRow
from newsspider.extensions.reachability import FAILED_STAT
from newsspider.failures import describe_failure
from newsspider.items import ArticleCheck, ArticleItem, article_item
from newsspider.sina.article import PageTooDeep, read_article
from newsspider.sina.roll import RollEntry
from newsspider.sina.urls import canonical_article_url, non_article_reason
from newsspider.workers import WORKER_CRASHED, WorkerCrashed, WorkerPool

logger = logging.getLogger(__name__)

DEAD_STATUSES = (404, 410)
DEFAULT_KNOWLEDGE = "newsspider.archive.index.ArchiveIndex"
NOT_MODIFIED = 304
_PAGE_END = re.compile(rb"</(?:body|html)\s*>", re.I)
_TAIL_BYTES = 16 * 1024


def is_html(response: Response) -> TypeGuard[TextResponse]:
    """True for a text response whose declared type, if any, is HTML."""
    if not isinstance(response, TextResponse):
        return False
    declared = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    return not declared or declared in (b"text/html", b"application/xhtml+xml")


def is_complete_html(body: bytes) -> bool:
    """False when the page never closes ``<body>`` or ``<html>``: a cut-off download.

    (Some Sina pages put scripts after ``</html>``, so the whole page is searched; the end
    first, where the closing tags nearly always are.)
    """
    tail = max(0, len(body) - _TAIL_BYTES)
    return _PAGE_END.search(body, tail) is not None or _PAGE_END.search(body) is not None


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def conditional_headers(row: IndexRow | None) -> dict[str, str]:
    """``If-None-Match``/``If-Modified-Since`` from what the index remembers of the page."""
    headers: dict[str, str] = {}
    if row is not None and row.etag:
        headers["If-None-Match"] = row.etag
    if row is not None and row.last_modified:
        headers["If-Modified-Since"] = row.last_modified
    return headers


class ArticleSpider(scrapy.Spider):
    """Base for spiders that archive Sina articles. Subclasses decide what to fetch."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._seen: set[str] = set()

    @cached_property
    def known(self) -> Any:
        """What is archived: the archive index (shared with the archive writer), or in the
        distributed mode what the writer publishes (``NEWSSPIDER_KNOWLEDGE``)."""
        backend = load_object(self.settings.get("NEWSSPIDER_KNOWLEDGE") or DEFAULT_KNOWLEDGE)
        return backend.for_crawler(self.crawler)

    @cached_property
    def workers(self) -> WorkerPool:
        """The crawl's worker processes, which parse the pages (``WORKER_PROCESSES``)."""
        return WorkerPool.for_crawler(self.crawler)

    async def may_seed(self) -> bool:
        """Whether this process starts the crawl's requests: always, except in the
        distributed mode, where one worker seeds the run and the others join it."""
        if not self.settings.getbool("NEWSSPIDER_DISTRIBUTED"):
            return True
        from newsspider.distributed.coordinator import RunCoordinator

        coordinator = RunCoordinator.for_crawler(self.crawler)
        if not await coordinator.wait_for_writer():
            self.stats().set_value(FAILED_STAT, "no_writer")
            return False
        return await coordinator.claim_seed()

    def stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def article_request(
        self, url: str, channel: str, entry: RollEntry | None, known: IndexRow | None = None
    ) -> scrapy.Request | None:
        """The request for an article, or None (counted) for a duplicate or a non-article.

        An article the index knows is asked for conditionally: a 304 costs no parsing.
        """
        url = canonical_article_url(url)
        if url in self._seen:
            self.stats().inc_value("sina/dropped/duplicate")
            return None
        self._seen.add(url)
        reason = non_article_reason(url)
        if reason is not None:
            self.stats().inc_value(f"sina/dropped/{reason}")
            logger.info("Skipped %s: %s", url, reason)
            return None
        return scrapy.Request(
            url,
            # Known articles are re-checked on purpose; in the distributed mode the shared
            # seen-request set keeps two workers from fetching one new article.
            dont_filter=known is not None,
            headers=conditional_headers(known),
            callback=self.parse_article,
            errback=self.on_article_error,
            cb_kwargs={"url": url, "channel": channel, "entry": entry},
            meta={"handle_httpstatus_list": [NOT_MODIFIED]} if known else {},
        )

    async def parse_article(
        self, response: Response, url: str, channel: str, entry: RollEntry | None
    ) -> AsyncIterator[ArticleItem | ArticleCheck]:
        stats = self.stats()
        if response.status == NOT_MODIFIED:
            yield ArticleCheck(
                url,
                "unchanged",
                _header(response, b"ETag"),
                _header(response, b"Last-Modified"),
                entry.mtime if entry else None,
            )
            return
        if response.url != url and non_article_reason(response.url):
            stats.inc_value("sina/dropped/redirected_off_article")
            logger.info("Dropped %s: redirected to %s, not an article", url, response.url)
            return
        if not is_html(response):
            stats.inc_value("sina/dropped/not_html")
            logger.info("Dropped %s: not an HTML page", url)
            return
        if not is_complete_html(response.body):
            stats.inc_value("sina/dropped/truncated")
            logger.info("Dropped %s: the page is truncated (no </body> or </html>)", url)
            return
        try:
            page = await self.workers.run(read_article, response.body, response.encoding)
        except WorkerCrashed as exc:  # not indexed: the next run fetches it again
            stats.inc_value(f"sina/failed/{WORKER_CRASHED}")
            logger.warning("Not parsed: %s (%s)", url, exc)
            return
        except PageTooDeep as exc:  # parsed, it would lose the text past libxml2's depth limit
            stats.inc_value("sina/dropped/too_deep")
            logger.info("Dropped %s: %s", url, exc)
            return
        stats.inc_value(f"sina/template/{page.template}")
        if page.template == "generic":
            logger.info("%s matched no Sina template; used the generic extractor", url)
        item = article_item(page, channel, url, entry)
        item.etag = _header(response, b"ETag")
        item.last_modified = _header(response, b"Last-Modified")
        yield item

    def on_article_error(self, failure: Failure) -> Iterator[ArticleCheck]:
        """One log line and a counted reason per failed article; no traceback.

        A 404/410 is a dead link; for an archived article it marks the article gone (its post
        is kept).
        """
        info = describe_failure(failure)
        request = failure.request  # type: ignore[attr-defined]
        url = request.cb_kwargs.get("url", request.url)
        if isinstance(failure.value, HttpError) and info.status in DEAD_STATUSES:
            if self.known.get(url) is not None:
                yield ArticleCheck(url, GONE)
                return
            self.stats().inc_value("sina/dropped/dead_link")
            logger.info("Dead link: %s (%s)", url, info.message)
            return
        self.stats().inc_value(f"sina/failed/{info.reason}")
        logger.warning("Request failed: %s (%s)", url, info.message)
