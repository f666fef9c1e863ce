"""``sina_finance``: the Sina Finance roll, one archive post per article."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from newsspider.config import positive_int
from newsspider.failures import describe_failure
from newsspider.items import ArticleItem, article_item
from newsspider.sina.article import parse_article
from newsspider.sina.channels import DEFAULT_CHANNEL, Channel, get_channel
from newsspider.sina.roll import RollEntry, RollError, parse_roll
from newsspider.sina.urls import MAX_ROLL_NUM, roll_api_url

logger = logging.getLogger(__name__)


def is_html(response: Response) -> TypeGuard[TextResponse]:
    """True for a text response whose declared type, if any, is HTML."""
    if not isinstance(response, TextResponse):
        return False
    declared = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    return not declared or declared in (b"text/html", b"application/xhtml+xml")


@dataclass(frozen=True)
class CrawlArgs:
    """The spider arguments (``-a pages=N -a num=N``), validated."""

    pages: int
    num: int
    channel: Channel

    @classmethod
    def parse(cls, pages: object = 1, num: object = MAX_ROLL_NUM) -> CrawlArgs:
        return cls(
            pages=positive_int("pages", pages),
            num=positive_int("num", num, maximum=MAX_ROLL_NUM),
            channel=get_channel(DEFAULT_CHANNEL),
        )


class SinaFinanceSpider(scrapy.Spider):
    """Reads ``pages`` roll pages of ``num`` items and fetches every article they list."""

    name = "sina_finance"

    def __init__(self, pages: str = "1", num: str = str(MAX_ROLL_NUM), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.args = CrawlArgs.parse(pages=pages, num=num)
        self._seen: set[str] = set()

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """Raise ``ConfigError`` for a spider argument that is unusable (before the crawl)."""
        CrawlArgs.parse(**{k: v for k, v in kwargs.items() if k in ("pages", "num")})

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self._roll_request(1)

    def _roll_request(self, page: int) -> scrapy.Request:
        channel = self.args.channel
        return scrapy.Request(
            roll_api_url(channel.pageid, channel.lid, self.args.num, page),
            callback=self.parse_roll,
            errback=self.on_error,
            cb_kwargs={"page": page},
            dont_filter=True,
        )

    def parse_roll(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        stats = self._stats()
        if not isinstance(response, TextResponse):
            stats.inc_value("sina/roll/failed/not_text")
            logger.warning("Roll page %d is not text (%s); skipped", page, response.url)
            return
        try:
            roll = parse_roll(response.text)
        except RollError as exc:
            stats.inc_value(f"sina/roll/failed/{exc.reason}")
            logger.warning("Roll page %d unusable (%s): %s", page, response.url, exc)
            return
        stats.inc_value("sina/roll/pages")
        stats.inc_value("sina/roll/items", len(roll.entries) + len(roll.rejected))
        for reason in roll.rejected:
            stats.inc_value(f"sina/dropped/roll_{reason}")
            logger.info("Roll page %d: item skipped (%s)", page, reason)
        for entry in roll.entries:
            if entry.url in self._seen:
                stats.inc_value("sina/dropped/duplicate")
                continue
            self._seen.add(entry.url)
            yield scrapy.Request(
                entry.url,
                callback=self.parse_article,
                errback=self.on_error,
                cb_kwargs={"entry": entry, "channel": self.args.channel.name},
            )
        if roll.entries and page < self.args.pages:
            yield self._roll_request(page + 1)

    def parse_article(
        self, response: Response, entry: RollEntry, channel: str
    ) -> Iterator[ArticleItem]:
        if not is_html(response):
            self._stats().inc_value("sina/dropped/not_html")
            logger.info("Dropped %s: not an HTML page", entry.url)
            return
        yield article_item(entry, parse_article(response.selector), channel)

    def on_error(self, failure: Failure) -> None:
        """One log line and a counted reason per failed request; no traceback."""
        info = describe_failure(failure)
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        self._stats().inc_value(f"sina/failed/{info.reason}")
        logger.warning("Request failed: %s (%s)", url, info.message)

    def _stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats
