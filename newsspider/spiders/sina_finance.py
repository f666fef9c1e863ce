"""``sina_finance``: Sina Finance rolls (or a list of URLs), one archive post per article."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from newsspider.archive.history import WriteReason
from newsspider.archive.index import GONE, IndexRow, to_unix
from newsspider.capture import CAPTURE_META, ROLL
from newsspider.config import Config
from newsspider.exitcodes import FAILED_STAT, INTERNAL_ERROR_STAT
from newsspider.failures import describe_failure
from newsspider.params import PARAM_NAMES, CrawlParams
from newsspider.sina.dates import BEIJING
from newsspider.sina.roll import RollEntry, RollError, RollPage, parse_roll, plan_roll_page
from newsspider.sina.urls import roll_api_url
from newsspider.spiders.base import ArticleSpider
from newsspider.stats import (
    ROLL_FAILED,
    ROLL_GIVEN_UP,
    ROLL_ITEMS,
    ROLL_KNOWN,
    ROLL_OUTSIDE_WINDOW,
    ROLL_PAGES,
    ROLL_REACHED,
    ROLL_REPAIRED,
    ROLL_STATE,
    dropped,
)

logger = logging.getLogger(__name__)

# Consecutive unusable roll pages after which a channel is given up for this run.
MAX_ROLL_FAILURES = 3


def freshness(entry: RollEntry, row: IndexRow | None) -> str:
    """``new`` (not archived), ``changed`` (the roll's ``mtime`` is newer than the archived
    one, or the article was gone) or ``known``."""
    if row is None:
        return "new"
    if row.status == GONE:
        return "changed"
    mtime = to_unix(entry.mtime)
    if mtime is not None and row.mtime is not None and mtime > row.mtime:
        return "changed"
    return "known"


class SinaFinanceSpider(ArticleSpider):
    """Walks the requested roll channels, one after the other, and fetches every article they
    list once; or fetches the explicit ``urls``. Arguments: see ``newsspider.params``.

    Runs are incremental: articles the archive index knows are not fetched again (unless the
    roll says they changed), and without ``-a pages``/``-a since`` a channel is read only until
    a roll page holds nothing new (at most ``SINA_CATCHUP_PAGES`` pages; one page on an empty
    archive). With ``-a until`` alone, the pages newer than ``until`` are read past (at most
    ``SINA_CATCHUP_PAGES``) until the window is reached.

    A roll page costs at most itself: whatever it holds, it is counted (``sina/roll/pages`` or
    ``sina/roll/failed/<reason>``) and the walk goes on to the next page and channel. A channel
    given up after :data:`MAX_ROLL_FAILURES` unusable pages in a row fails the run.
    """

    name = "sina_finance"
    write_reason = WriteReason.CRAWL  # what the history of the posts it writes says

    def __init__(self, **kwargs: Any) -> None:
        params = {k: kwargs.pop(k) for k in PARAM_NAMES if k in kwargs}
        super().__init__(**kwargs)
        self.arguments.update({k: str(v) for k, v in params.items()})
        self.params = CrawlParams.parse(**params)
        self._max_pages: int | None = self.params.pages
        self._catch_up = self.params.pages_given is False and self.params.since is None
        # -a until alone: read back past the pages newer than the window before counting pages;
        # the page each channel's window starts on.
        self._seek_until = self._catch_up and self.params.until is not None
        self._window_start: dict[int, int] = {}

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """Raise ``ConfigError`` for a spider argument that is unusable (before the crawl)."""
        CrawlParams.parse(**kwargs)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.params.urls:
            channel = self.params.channels[0].name
            for url in self.params.urls:
                request = self.article_request(url, channel, None, self.known.get(url))
                if request is not None:
                    yield request
            return
        if self._catch_up and self.known.count():
            self._max_pages = self._catch_up_limit()
        yield self._roll_request(0, 1)

    def _catch_up_limit(self) -> int:
        return Config.of(self.crawler).sina.catchup_pages

    # --- roll ---------------------------------------------------------------------------------

    def _roll_request(self, channel_index: int, page: int, failures: int = 0) -> scrapy.Request:
        channel = self.params.channels[channel_index]
        return scrapy.Request(
            roll_api_url(channel.pageid, channel.lid, self.params.num, page),
            callback=self.parse_roll,
            errback=self.on_roll_error,
            cb_kwargs={"channel_index": channel_index, "page": page, "failures": failures},
            meta={CAPTURE_META: ROLL},
            dont_filter=True,
            priority=-1,  # articles first: the roll is read ahead only as far as needed
        )

    def _next_roll(
        self, channel_index: int, page: int, more: bool, failures: int = 0, *, seeking: bool = False
    ) -> Iterator[scrapy.Request]:
        """The next roll page of this channel, or the first page of the next channel.

        Channels are walked one after the other, so an article listed by several channels is
        archived under the first requested channel that lists it. ``seeking``: the page held
        only entries newer than ``-a until``, so it does not count toward the pages to read.
        """
        pages = self._max_pages
        read = page - self._window_start.get(channel_index, 1) + 1
        if seeking:
            pages, read = self._catch_up_limit(), page
        if failures >= MAX_ROLL_FAILURES:
            channel = self.params.channels[channel_index]
            logger.error(
                "%s: %d unusable roll pages in a row; the channel is given up for this run",
                channel.name,
                failures,
            )
            self.stats().inc_value(ROLL_GIVEN_UP)
            self.stats().set_value(FAILED_STAT, "roll_given_up")
        elif more and (pages is None or read < pages):
            yield self._roll_request(channel_index, page + 1, failures)
            return
        elif seeking:
            logger.warning(
                "%s: roll page %d is still newer than -a until; stopped after "
                "SINA_CATCHUP_PAGES=%d pages without reaching the window",
                self.params.channels[channel_index].name,
                page,
                pages,
            )
        if channel_index + 1 < len(self.params.channels):
            yield self._roll_request(channel_index + 1, 1)

    def _roll_failed(
        self,
        channel_index: int,
        page: int,
        failures: int,
        reason: str,
        message: str,
        *,
        counted: bool = False,
    ) -> Iterator[scrapy.Request]:
        """Count and log an unusable roll page, then try the next page (or channel).
        ``counted``: the failure is counted and logged already (an internal error)."""
        if not counted:
            channel = self.params.channels[channel_index]
            self.stats().inc_value(ROLL_FAILED + reason)
            logger.warning("%s roll page %d unusable (%s): %s", channel.name, page, reason, message)
        yield from self._next_roll(channel_index, page, True, failures + 1)

    def parse_roll(
        self, response: Response, channel_index: int, page: int, failures: int = 0
    ) -> Iterator[scrapy.Request]:
        channel = self.params.channels[channel_index]
        try:
            if not isinstance(response, TextResponse):
                raise RollError("not_text", "answer is not text")
            roll = parse_roll(response.text)
        except RollError as exc:
            yield from self._roll_failed(channel_index, page, failures, exc.reason, str(exc))
            return
        try:
            requests, more, seeking = self._read_roll_page(channel_index, page, roll)
        except Exception as exc:  # whatever a page holds, it costs that page only
            self.stats().inc_value(INTERNAL_ERROR_STAT)  # counted once, here: exit 70
            logger.exception("%s roll page %d could not be read", channel.name, page)
            yield from self._roll_failed(
                channel_index, page, failures, "internal_error", repr(exc), counted=True
            )
            return
        yield from requests
        yield from self._next_roll(channel_index, page, more, seeking=seeking)

    def _read_roll_page(
        self, channel_index: int, page: int, roll: RollPage
    ) -> tuple[list[scrapy.Request], bool, bool]:
        """The article requests of one parsed roll page, whether older pages may hold more,
        and whether the page was read past on the way to ``-a until``'s window."""
        channel = self.params.channels[channel_index]
        stats = self.stats()
        stats.inc_value(ROLL_PAGES)
        stats.inc_value(ROLL_ITEMS, len(roll.entries) + len(roll.rejected))
        for reason in roll.rejected:
            stats.inc_value(dropped(f"roll_{reason}"))
            logger.info("%s roll page %d: item skipped (%s)", channel.name, page, reason)
        for url in roll.repaired:
            stats.inc_value(ROLL_REPAIRED)
            logger.warning(
                "%s roll page %d: text with invalid characters (lone UTF-16 surrogates) "
                "repaired with U+FFFD: %s",
                channel.name,
                page,
                url,
            )
        plan = plan_roll_page(roll.entries, self.params.since, self.params.until)
        if plan.too_new or plan.too_old:
            stats.inc_value(ROLL_OUTSIDE_WINDOW, plan.too_new + plan.too_old)
        reached = plan.oldest.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if plan.oldest else "-"
        if plan.oldest is not None:
            stats.set_value(ROLL_REACHED, f"{channel.name} {reached}")
        logger.info(
            "%s roll page %d: %d listed, %d in the window, reached %s (Beijing)",
            channel.name,
            page,
            len(roll.entries),
            len(plan.fetch),
            reached,
        )
        if self._seek_until and channel_index not in self._window_start:
            if not plan.fetch and plan.too_new == len(roll.entries) > 0:
                logger.info(
                    "%s roll page %d is newer than -a until; reading on to reach the window",
                    channel.name,
                    page,
                )
                return [], True, True
            self._window_start[channel_index] = page
        known = 0
        requests = []
        rows = self.known.find_many((entry.url, entry.docid) for entry in plan.fetch)
        for entry in plan.fetch:
            try:
                row = rows.get(entry.url)
                state = freshness(entry, row)
                if state == "known":
                    known += 1
                    continue
                stats.inc_value(ROLL_STATE + state)
                request = self.article_request(entry.url, channel.name, entry, row)
            except Exception:  # one item costs that item only
                stats.inc_value(INTERNAL_ERROR_STAT)
                logger.exception(
                    "%s roll page %d: item %s could not be read", channel.name, page, entry.url
                )
                continue
            if request is not None:
                requests.append(request)
        if known:
            stats.inc_value(ROLL_KNOWN, known)
        more = plan.more
        if self._catch_up and plan.fetch and known == len(plan.fetch):
            logger.info("%s roll page %d is already archived; caught up", channel.name, page)
            more = False
        return requests, more, False

    # --- failures -----------------------------------------------------------------------------

    def on_roll_error(self, failure: Failure) -> Iterator[scrapy.Request]:
        """A roll request that failed: counted and logged like an unusable answer."""
        info = describe_failure(failure)
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        yield from self._roll_failed(
            kwargs["channel_index"], kwargs["page"], kwargs["failures"], info.reason, info.message
        )
