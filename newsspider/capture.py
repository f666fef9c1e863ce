"""``ARCHIVE_WARC``: every article and roll page fetched, recorded as received in WARC files.

:class:`WarcCaptureMiddleware` sits in ``DOWNLOADER_MIDDLEWARES`` above Scrapy's
``HttpCompressionMiddleware`` (590), so it sees each response before its body is decoded and
records the body as the server sent it (a WARC reader decodes it back to the bytes the extractor
saw). The spiders mark the requests to record (:data:`CAPTURE_META`: ``article`` or ``roll``);
the location of each recorded page is put in the response's meta (:data:`LOCATION_META`) once it
is durable, and the spider passes it on with the page, so the index records where the page's
capture is.

The files are written by one thread (:class:`_WriterThread`), off the reactor: the middleware
hands each page over and waits for its location; the thread writes what has come in since its
last write and makes it durable at once (one fsync for all).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from newsspider.archive.warc import (
    ACCEPT_ENCODING,
    READABLE_ENCODINGS,
    PageCapture,
    WarcLocation,
    WarcWriter,
)
from newsspider.config import Config, ConfigError
from newsspider.extensions.archive import CrawlArchive
from newsspider.stats import WARC_PAGES, WARC_ROLLS, WARC_SKIPPED

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

CAPTURE_META = "archive_warc"
"""Request meta key: ``article`` or ``roll`` for a page to record."""
LOCATION_META = "archive_warc_location"
"""Response meta key: the :class:`~newsspider.archive.warc.WarcLocation` of the page recorded."""
ARTICLE = "article"
ROLL = "roll"


def _headers(headers: Any) -> tuple[tuple[str, str], ...]:
    return tuple(
        (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
        for name, values in headers.items()
        for value in values
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def page_capture(request: Request, response: Response) -> PageCapture:
    """What is recorded of one fetched page (for an article, with the roll entry and the
    channel it was fetched for)."""
    metadata: dict[str, Any] | None = None
    if request.meta.get(CAPTURE_META) == ARTICLE:
        entry = request.cb_kwargs.get("entry")
        metadata = {
            "url": request.cb_kwargs.get("url", request.url),
            "channel": request.cb_kwargs.get("channel"),
            "entry": entry.to_record() if entry is not None else None,
        }
    return PageCapture(
        url=response.url,
        method=request.method,
        request_headers=_headers(request.headers),
        status=response.status,
        reason=_reason(response.status),
        protocol=response.protocol or "HTTP/1.1",
        headers=_headers(response.headers),
        body=response.body,
        fetched_at=datetime.now(UTC),
        metadata=metadata,
    )


class _WriterThread:
    """One thread that owns a :class:`WarcWriter`; :meth:`submit` gives a Deferred that fires
    (in the reactor's thread, through ``deliver``) with the page's durable location."""

    def __init__(self, writer: WarcWriter, deliver: Callable[..., Any]) -> None:
        self.writer = writer
        self._deliver = deliver
        self._queue: queue.SimpleQueue[tuple[PageCapture, Deferred[WarcLocation]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name="newsspider-warc", daemon=True)
        self._thread.start()

    def submit(self, page: PageCapture) -> Deferred[WarcLocation]:
        done: Deferred[WarcLocation] = Deferred()
        self._queue.put((page, done))
        return done

    def _run(self) -> None:
        stop = False
        while not stop:
            jobs = []
            job = self._queue.get()
            while True:
                if job is None:
                    stop = True
                else:
                    jobs.append(job)
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
            if not jobs:
                continue
            try:
                locations = self.writer.write([page for page, _ in jobs])
            except Exception as exc:  # a full disk: those pages fail, not the crawl
                failure = Failure(exc)  # type: ignore[no-untyped-call]
                for _, done in jobs:
                    self._deliver(done.errback, failure)
                continue
            for (_, done), location in zip(jobs, locations, strict=True):
                self._deliver(done.callback, location)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self.writer.close()


class WarcCaptureMiddleware:
    """Records every response to a request marked with :data:`CAPTURE_META` (see the module
    docstring); off unless ``ARCHIVE_WARC``. A 304 is not recorded (it has no page), nor a page
    sent in a Content-Encoding no WARC reader decodes (``archive/warc/skipped/encoding``).

    Stats: ``archive/warc/pages`` (articles), ``archive/warc/rolls``,
    ``archive/warc/skipped/<reason>``.
    """

    def __init__(self, crawler: Crawler, writer: WarcWriter) -> None:
        from twisted.internet import reactor

        assert crawler.stats is not None
        self.stats = crawler.stats
        self._thread = _WriterThread(writer, reactor.callFromThread)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        config = Config.of(crawler)
        if not config.warc.enabled or not config.archive.writes:
            raise NotConfigured
        archive = CrawlArchive.of(crawler)
        store = CrawlArchive.store_of(crawler)  # the archive's lock holder is the one writer
        writer = WarcWriter(store.root, maxsize=config.warc.maxsize, fsync=store.fsync)
        writer.open()
        if writer.cut_back:
            logger.warning(
                "Cut %d byte(s) of a cut-off WARC record (an interrupted run) from %s",
                writer.cut_back,
                writer.folder,
            )
        middleware = cls(crawler, writer)
        archive.closing(middleware.close)
        return middleware

    def process_request(self, request: Request) -> None:
        if request.meta.get(CAPTURE_META):
            # Only encodings a WARC reader decodes, so the record reads back as the page.
            request.headers[b"Accept-Encoding"] = ACCEPT_ENCODING

    async def process_response(self, request: Request, response: Response) -> Response:
        kind = request.meta.get(CAPTURE_META)
        if kind not in (ARTICLE, ROLL) or response.status == 304:
            return response
        encoding = b",".join(response.headers.getlist(b"Content-Encoding"))
        if encoding.decode("latin-1").strip().lower() not in READABLE_ENCODINGS:
            self.stats.inc_value(WARC_SKIPPED + "encoding")
            logger.warning("Not recorded in WARC: %s (Content-Encoding %r)", response.url, encoding)
            return response
        location = await maybe_deferred_to_future(
            self._thread.submit(page_capture(request, response))
        )
        request.meta[LOCATION_META] = location
        self.stats.inc_value(WARC_PAGES if kind == ARTICLE else WARC_ROLLS)
        return response

    def close(self) -> None:
        """Write what is left and close the file (before the archive's lock is given back)."""
        self._thread.close()


def refuse_distributed(settings: BaseSettings) -> None:
    """A ``RUN_PREFLIGHT`` check of the distributed mode: page capture is not supported there
    (the pages are fetched on the workers, the archive is the writer's)."""
    if Config.from_settings(settings).warc.enabled:
        raise ConfigError(
            "ARCHIVE_WARC is not supported with DISTRIBUTED_ENABLED (pages are fetched by the"
            " workers, the archive is the writer's); crawl without it"
        )
