"""``sina_rebuild``: re-render archived posts from their captured pages, with no request at all.

Usually started with ``scrapy rebuild`` (see ``newsspider.commands.rebuild``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from scrapy import Request, signals
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from newsspider.archive.index import IndexRow
from newsspider.archive.warc import (
    CapturedPage,
    CaptureUnreadable,
    WarcLocation,
    read_capture,
    warc_folder,
)
from newsspider.config import Config
from newsspider.exitcodes import FAILED_STAT
from newsspider.items import FetchedPage
from newsspider.sina.roll import RollEntry
from newsspider.spiders.base import ArticleSpider
from newsspider.spiders.sina_refresh import REFRESH_ARGS, RefreshSelection
from newsspider.stats import REBUILD_NO_CAPTURE, REBUILD_READ, REBUILD_UNREADABLE

logger = logging.getLogger(__name__)

READ_BATCH = 32
"""Captures read in one go, off the reactor's thread."""
IN_FLIGHT = 64
"""Pages at most in the pipelines at once: enough to keep every worker process busy, few
enough that a rebuild of the whole archive does not hold it in memory."""


def read_captures(folder: Any, locations: Sequence[WarcLocation]) -> list[CapturedPage | str]:
    """Each capture read back, or why it cannot be (blocking: run in a thread)."""
    pages: list[CapturedPage | str] = []
    for location in locations:
        try:
            pages.append(read_capture(folder, location))
        except CaptureUnreadable as exc:
            pages.append(str(exc))
    return pages


def captured_response(page: CapturedPage, url: str) -> Response:
    """The response the crawl's spider saw for a captured page: the body decoded, so without
    ``Content-Encoding`` (as Scrapy's decompression leaves it), of the class Scrapy picks for
    its headers and body."""
    headers = Headers()
    for name, value in page.headers:
        if name.lower() != "content-encoding":
            headers.appendlist(name, value)
    cls = responsetypes.from_args(headers=headers, url=page.url, body=page.body)
    return cls(
        url=page.url, status=page.status, headers=headers, body=page.body, request=Request(url)
    )


def entry_of_capture(page: CapturedPage) -> RollEntry | None:
    """The roll entry the page was fetched for (None for ``-a urls``); ``ValueError`` when
    the capture's record of it is not one."""
    record = page.metadata.get("entry")
    return RollEntry.from_record(record) if record is not None else None


class SinaRebuildSpider(ArticleSpider):
    """Yields, for each selected archived article, its latest captured page as a
    :class:`~newsspider.items.FetchedPage`, routed as a live crawl routes the page it
    fetches, so the same pipelines make and write the post with today's code and settings.

    An article with no capture is dropped (``sina/dropped/no_capture``, ``rebuild/no_capture``)
    and listed; one whose capture cannot be read back fails (``sina/failed/capture_unreadable``,
    ``rebuild/unreadable``) and fails the run (exit 1) while the others are rebuilt.
    Stats: ``rebuild/read``.
    """

    name = "sina_rebuild"
    write_reason = "rebuild"
    # Nothing is fetched, so nothing is captured, and no picture either: with
    # ARCHIVE_IMAGES=local, posts show the pictures stored already.
    custom_settings = {"ARCHIVE_WARC": False, "ARCHIVE_IMAGES_FETCH": False}  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        selection = {k: kwargs.pop(k) for k in REFRESH_ARGS if k in kwargs}
        super().__init__(**kwargs)
        self.arguments.update({k: str(v) for k, v in selection.items()})
        self.selection = RefreshSelection.parse(**selection, _task="rebuild")
        self._in_flight = 0
        self._room: Deferred[None] | None = None

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """Raise ``ConfigError`` for an unusable selection (before the crawl)."""
        RefreshSelection.parse(**kwargs, _task="rebuild")

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SinaRebuildSpider:
        spider: SinaRebuildSpider = super().from_crawler(crawler, *args, **kwargs)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._item_done, signal=signal)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    @cached_property
    def folder(self) -> Any:
        return warc_folder(Config.of(self.crawler).archive.root)

    async def start(self) -> AsyncIterator[FetchedPage]:
        rows = list(self.known.select(self.selection, datetime.now(UTC)))
        captured = [row for row in rows if row.capture is not None]
        logger.info(
            "Rebuilding %d archived article(s) from their captures (%d without one)",
            len(captured),
            len(rows) - len(captured),
        )
        for row in rows:
            if row.capture is None:
                self.stats().inc_value(REBUILD_NO_CAPTURE)
                self.outcomes.dropped(
                    row.url, "no_capture", "no captured page (archived with ARCHIVE_WARC off)"
                )
        # In file order: each file is read front to back.
        captured.sort(key=lambda row: (row.capture_file or "", row.capture_offset or 0))
        batches = [captured[i : i + READ_BATCH] for i in range(0, len(captured), READ_BATCH)]
        reading = self._read(batches[0]) if batches else None
        for number, batch in enumerate(batches):
            assert reading is not None
            pages = await maybe_deferred_to_future(reading)
            # The next batch is read while this one goes through the pipelines.
            reading = self._read(batches[number + 1]) if number + 1 < len(batches) else None
            for row, page in zip(batch, pages, strict=True):
                for item in self._pages_of(row, page):
                    while self._in_flight >= IN_FLIGHT:
                        self._room = Deferred()
                        await maybe_deferred_to_future(self._room)
                    self._in_flight += 1
                    yield item

    def _read(self, batch: list[IndexRow]) -> Deferred[list[CapturedPage | str]]:
        locations = [row.capture for row in batch if row.capture is not None]
        return deferToThread(read_captures, self.folder, locations)

    def _pages_of(self, row: IndexRow, page: CapturedPage | str) -> Iterator[FetchedPage]:
        if isinstance(page, str):
            self._unreadable(row, page)
            return
        try:
            entry = entry_of_capture(page)
        except ValueError as exc:
            self._unreadable(row, f"its roll entry is unreadable ({exc})")
            return
        self.stats().inc_value(REBUILD_READ)
        response = captured_response(page, row.url)
        for item in self.parse_article(response, url=row.url, channel=row.channel, entry=entry):
            if isinstance(item, FetchedPage):
                yield dataclasses.replace(item, capture=row.capture)

    def _unreadable(self, row: IndexRow, why: str) -> None:
        self.stats().inc_value(REBUILD_UNREADABLE)
        self.outcomes.failed(row.url, "capture_unreadable", f"capture {row.capture}: {why}")

    def _item_done(self, *args: Any, **kwargs: Any) -> None:
        self._in_flight -= 1
        if self._room is not None and self._in_flight < IN_FLIGHT:
            room, self._room = self._room, None
            room.callback(None)

    def _closed(self, spider: Any, reason: str) -> None:
        stats = self.stats()
        if stats.get_value(REBUILD_UNREADABLE) and not stats.get_value(FAILED_STAT):
            logger.error(
                "%d capture(s) could not be read back; those posts were not rebuilt",
                stats.get_value(REBUILD_UNREADABLE),
            )
            stats.set_value(FAILED_STAT, "unreadable_captures")
