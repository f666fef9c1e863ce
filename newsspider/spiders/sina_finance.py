"""``sina_finance``: Sina Finance rolls (or a list of URLs), one archive post per article."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeGuard

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from newsspider.failures import describe_failure
from newsspider.items import ArticleItem, article_item
from newsspider.params import PARAM_NAMES, CrawlParams
from newsspider.sina.article import parse_article
from newsspider.sina.dates import BEIJING
from newsspider.sina.roll import RollEntry, RollError, parse_roll, plan_roll_page
from newsspider.sina.urls import canonical_article_url, non_article_reason, roll_api_url

logger = logging.getLogger(__name__)

DEAD_STATUSES = (404, 410)
# Consecutive unusable roll pages after which a channel is given up for this run.
MAX_ROLL_FAILURES = 3


def is_html(response: Response) -> TypeGuard[TextResponse]:
    """True for a text response whose declared type, if any, is HTML."""
    if not isinstance(response, TextResponse):
        return False
    declared = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    return not declared or declared in (b"text/html", b"application/xhtml+xml")


_PAGE_END = re.compile(rb"</(?:body|html)\s*>", re.I)


def is_complete_html(body: bytes) -> bool:
    """False when the page never closes ``<body>`` or ``<html>``: a cut-off download.

    (Some Sina pages put scripts after ``</html>``, so the whole page is searched.)
    """
    return _PAGE_END.search(body) is not None


class SinaFinanceSpider(scrapy.Spider):
    """Walks the requested roll channels, one after the other, and fetches every article they
    list once; or fetches the explicit ``urls``. Arguments: see ``newsspider.params``."""

    name = "sina_finance"

    def __init__(self, **kwargs: Any) -> None:
        params = {k: kwargs.pop(k) for k in PARAM_NAMES if k in kwargs}
        super().__init__(**kwargs)
        self.params = CrawlParams.parse(**params)
        self._seen: set[str] = set()

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """Raise ``ConfigError`` for a spider argument that is unusable (before the crawl)."""
        CrawlParams.parse(**kwargs)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.params.urls:
            channel = self.params.channels[0].name
            for url in self.params.urls:
                request = self._article_request(url, channel, None)
                if request is not None:
                    yield request
        else:
            yield self._roll_request(0, 1)

    # --- roll ---------------------------------------------------------------------------------

    def _roll_request(self, channel_index: int, page: int, failures: int = 0) -> scrapy.Request:
        channel = self.params.channels[channel_index]
        return scrapy.Request(
            roll_api_url(channel.pageid, channel.lid, self.params.num, page),
            callback=self.parse_roll,
            errback=self.on_roll_error,
            cb_kwargs={"channel_index": channel_index, "page": page, "failures": failures},
            dont_filter=True,
            priority=-1,  # articles first: the roll is read ahead only as far as needed
        )

    def _next_roll(
        self, channel_index: int, page: int, more: bool, failures: int = 0
    ) -> Iterator[scrapy.Request]:
        """The next roll page of this channel, or the first page of the next channel.

        Channels are walked one after the other, so an article listed by several channels is
        archived under the first requested channel that lists it.
        """
        pages = self.params.pages
        if more and (pages is None or page < pages) and failures < MAX_ROLL_FAILURES:
            yield self._roll_request(channel_index, page + 1, failures)
        elif channel_index + 1 < len(self.params.channels):
            yield self._roll_request(channel_index + 1, 1)

    def _roll_failed(
        self, channel_index: int, page: int, failures: int, reason: str, message: str
    ) -> Iterator[scrapy.Request]:
        """Count and log an unusable roll page, then try the next page (or channel)."""
        channel = self.params.channels[channel_index]
        self._stats().inc_value(f"sina/roll/failed/{reason}")
        logger.warning("%s roll page %d unusable (%s): %s", channel.name, page, reason, message)
        yield from self._next_roll(channel_index, page, True, failures + 1)

    def parse_roll(
        self, response: Response, channel_index: int, page: int, failures: int = 0
    ) -> Iterator[scrapy.Request]:
        channel = self.params.channels[channel_index]
        stats = self._stats()
        try:
            if not isinstance(response, TextResponse):
                raise RollError("not_text", "answer is not text")
            roll = parse_roll(response.text)
        except RollError as exc:
            yield from self._roll_failed(channel_index, page, failures, exc.reason, str(exc))
            return
        stats.inc_value("sina/roll/pages")
        stats.inc_value("sina/roll/items", len(roll.entries) + len(roll.rejected))
        for reason in roll.rejected:
            stats.inc_value(f"sina/dropped/roll_{reason}")
            logger.info("%s roll page %d: item skipped (%s)", channel.name, page, reason)
        plan = plan_roll_page(roll.entries, self.params.since, self.params.until)
        if plan.too_new or plan.too_old:
            stats.inc_value("sina/roll/outside_window", plan.too_new + plan.too_old)
        reached = plan.oldest.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if plan.oldest else "-"
        logger.info(
            "%s roll page %d: %d listed, %d in the window, reached %s (Beijing)",
            channel.name,
            page,
            len(roll.entries),
            len(plan.fetch),
            reached,
        )
        for entry in plan.fetch:
            request = self._article_request(entry.url, channel.name, entry)
            if request is not None:
                yield request
        yield from self._next_roll(channel_index, page, plan.more)

    # --- articles -----------------------------------------------------------------------------

    def _article_request(
        self, url: str, channel: str, entry: RollEntry | None
    ) -> scrapy.Request | None:
        """The request for an article, or None (counted) for a duplicate or a non-article."""
        url = canonical_article_url(url)
        stats = self._stats()
        if url in self._seen:
            stats.inc_value("sina/dropped/duplicate")
            return None
        self._seen.add(url)
        reason = non_article_reason(url)
        if reason is not None:
            stats.inc_value(f"sina/dropped/{reason}")
            logger.info("Skipped %s: %s", url, reason)
            return None
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.on_article_error,
            cb_kwargs={"url": url, "channel": channel, "entry": entry},
        )

    def parse_article(
        self, response: Response, url: str, channel: str, entry: RollEntry | None
    ) -> Iterator[ArticleItem]:
        stats = self._stats()
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
        page = parse_article(response.selector)
        stats.inc_value(f"sina/template/{page.template}")
        if page.template == "generic":
            logger.info("%s matched no Sina template; used the generic extractor", url)
        yield article_item(page, channel, url, entry)

    # --- failures -----------------------------------------------------------------------------

    def on_roll_error(self, failure: Failure) -> Iterator[scrapy.Request]:
        """A roll request that failed: counted and logged like an unusable answer."""
        info = describe_failure(failure)
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        yield from self._roll_failed(
            kwargs["channel_index"], kwargs["page"], kwargs["failures"], info.reason, info.message
        )

    def on_article_error(self, failure: Failure) -> None:
        """One log line and a counted reason per failed article; no traceback."""
        info = describe_failure(failure)
        request = failure.request  # type: ignore[attr-defined]
        if isinstance(failure.value, HttpError) and info.status in DEAD_STATUSES:
            self._stats().inc_value("sina/dropped/dead_link")
            logger.info("Dead link: %s (%s)", request.url, info.message)
            return
        self._stats().inc_value(f"sina/failed/{info.reason}")
        logger.warning("Request failed: %s (%s)", request.url, info.message)

    def _stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats
