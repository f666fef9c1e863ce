"""The pictures pipelines: every picture of every archived post kept beside the archive, with
Scrapy's own :class:`~scrapy.pipelines.files.FilesPipeline`.

With ``ARCHIVE_IMAGES=save``, :class:`PicturePipeline` comes after the archive writer: a post is
archived whatever becomes of its pictures, which are best effort. With ``ARCHIVE_IMAGES=local``,
:class:`LocalPicturePipeline` comes before it, since the post's bytes depend on which of its
pictures are stored; it passes the post on whatever becomes of them.

Pictures are stored by content (:mod:`newsspider.archive.pictures`), and the record of what is
stored lets a run fetch only what no run has stored yet: the pictures of its new posts, and those
an earlier run failed to store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FilesPipeline
from scrapy.pipelines.media import FileInfo, FileInfoOrError, MediaPipeline
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.log import failure_to_exc_info
from twisted.internet.defer import CancelledError

from newsspider.archive.files import write_atomic
from newsspider.archive.index import ArchiveIndex
from newsspider.archive.pictures import (
    PICTURE_META,
    RECORD_NAME,
    NotPictureUrl,
    PictureRecord,
    content_name,
    picture_url,
    sniff_image,
    take_census,
)
from newsspider.config import Config, ImagesConfig, ImagesMode
from newsspider.extensions.archive import CrawlArchive
from newsspider.failures import describe_failure
from newsspider.items import ArticleItem
from newsspider.post import with_local_pictures
from newsspider.stats import (
    IMAGES_ALREADY,
    IMAGES_FAILED,
    IMAGES_RETRIED,
    IMAGES_SAME_CONTENT,
    IMAGES_SKIPPED,
    IMAGES_STORED,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

# What a browser asks an image host for; the formats kept (sniff_image) first.
_ACCEPT = "image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.5"


class PictureRefused(Exception):
    """A downloaded answer that is not kept: ``reason`` is a stats key part."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class _MissingPictures:
    """The pictures earlier runs could not store, asked for again as one batch."""

    urls: tuple[str, ...]


class PicturePipeline(FilesPipeline):
    """Downloads the pictures of each :class:`~newsspider.items.ArticleItem` (its ``images``)
    into ``ARCHIVE_IMAGES_DIR``, named by content; passes the item on unchanged.

    * Only http(s) URLs on ``ARCHIVE_IMAGES_HOSTS`` that pass the trust rules of Sina URLs are
      fetched (``images/skipped/<reason>`` for the others); requests go without a ``Referer``,
      past robots.txt (a picture is part of a page already fetched, as a browser loads it) and
      are retried by Scrapy's ``RetryMiddleware`` on transient failures (``RETRY_TIMES``).
    * A picture URL the record holds as stored, whose file is still there, is not fetched
      (``images/already``). A fetched picture is kept when its bytes are a JPEG, PNG, GIF or
      WebP picture of at most ``ARCHIVE_IMAGES_MAXSIZE`` bytes: a new file
      (``images/stored``), or none when the same bytes are stored already
      (``images/same_content``).
    * A picture not kept is logged in one line and counted (``images/failed/<reason>``:
      ``http_404``, ``too_large``, ``not_image``, ``DNSLookupError``, …) and recorded as failed;
      it does not fail the run. When the spider opens, the pictures the archive's posts show
      (the index records them) that are not stored are asked for again (``images/retried``):
      those earlier runs failed to store, and those whose file is gone.

    Switched off (``NotConfigured``) unless ``ARCHIVE_IMAGES`` is :attr:`MODE`, and in a
    process that does not write the archive (``ARCHIVE_WRITES=False``).
    """

    MODE = ImagesMode.SAVE

    # Failures are logged here in one line each; MediaPipeline would add a traceback.
    LOG_FAILED_RESULTS = False

    def __init__(
        self, crawler: Crawler, config: ImagesConfig, index: ArchiveIndex, fsync: bool
    ) -> None:
        self.config = config
        self.index = index
        root = index.root
        self.folder = config.folder_of(root)
        self.record_path = root / ".newsspider" / RECORD_NAME
        self.fsync = fsync
        super().__init__(str(self.folder), crawler=crawler)
        assert crawler.stats is not None
        self.stats = crawler.stats
        self._record: PictureRecord | None = None
        self._retry: Deferred[Any] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PicturePipeline:
        config = Config.of(crawler)
        if config.images.mode is not cls.MODE or not config.archive.writes:
            raise NotConfigured
        index = CrawlArchive.store_of(crawler).index
        pipeline = cls(crawler, config.images, index, config.archive.fsync)
        crawler.signals.connect(pipeline.spider_idle, signal=signals.spider_idle)
        return pipeline

    @property
    def record(self) -> PictureRecord:
        assert self._record is not None, "the record is open from open_spider to close_spider"
        return self._record

    # MediaPipeline keeps the old optional spider argument; Scrapy calls it without one.
    def open_spider(self, spider: Any = None) -> None:
        super().open_spider()
        self._record = PictureRecord(self.record_path)
        census = take_census(self.index.pictures(), self.record, self.folder, self.config.hosts)
        missing = tuple(picture.url for picture in census.missing)
        logger.info(
            "Pictures: %s (%d shown by the archive's posts: %d stored, %d to fetch)",
            self.folder,
            census.referenced,
            census.stored,
            len(missing),
        )
        if missing:
            self.stats.inc_value(IMAGES_RETRIED, len(missing))
            self._retry = deferred_from_coro(self.process_item(_MissingPictures(missing)))
            self._retry.addErrback(self._retry_failed)

    def _retry_failed(self, failure: Failure) -> None:
        if isinstance(failure.value, CancelledError | asyncio.CancelledError):
            return  # the crawl was stopped first: the next run tries them again
        logger.error(
            "Asking again for the missing pictures failed: %s",
            failure.getErrorMessage(),
            exc_info=failure_to_exc_info(failure),
        )

    def spider_idle(self) -> None:
        """Keeps the spider open while the pictures of earlier runs are being asked for."""
        if self._retry is not None and not self._retry.called:
            raise DontCloseSpider

    async def close_spider(self, spider: Any = None) -> None:
        if self._retry is not None and not self._retry.called:
            # The crawl may end before the retries do; what is left is tried by the next run.
            self._retry.cancel()
        if self._record is not None:
            self._record.close()
            self._record = None

    # --- which pictures are asked for ------------------------------------------------------------

    def get_media_requests(self, item: Any, info: MediaPipeline.SpiderInfo) -> list[Request]:
        if isinstance(item, ArticleItem):
            urls: tuple[str, ...] = item.images
        elif isinstance(item, _MissingPictures):
            urls = item.urls
        else:
            return []
        requests = []
        for url in urls:
            request = self._request_for(url)
            if request is not None:
                requests.append(request)
        return requests

    def _request_for(self, url: str) -> Request | None:
        try:
            checked = picture_url(url, self.config.hosts)
        except NotPictureUrl as exc:
            self.stats.inc_value(IMAGES_SKIPPED + exc.reason)
            logger.debug("Picture not fetched (%s): %s", exc.reason, url)
            return None
        if self.is_stored(url):
            self.stats.inc_value(IMAGES_ALREADY)
            return None
        return Request(
            checked,
            callback=NO_CALLBACK,
            headers={"Accept": _ACCEPT},
            meta={
                PICTURE_META: url,  # the URL as the post has it: the record's key
                "allow_offsite": True,  # the download handler holds the picture hosts' list
                "dont_obey_robotstxt": True,
                "download_maxsize": self.config.maxsize,
                "download_warnsize": 0,
            },
        )

    def is_stored(self, url: str) -> bool:
        """True when the record holds ``url`` as stored and its file is there."""
        return self.stored_name(url) is not None

    def stored_name(self, url: str) -> str | None:
        """The file ``url`` is stored as (relative to the pictures' folder), when the record
        holds it as stored and the file is there; else None."""
        row = self.record.get(url)
        if row is None or row.name is None or not (self.folder / row.name).is_file():
            return None
        return row.name

    # --- what is kept ----------------------------------------------------------------------------

    def media_to_download(
        self, request: Request, info: MediaPipeline.SpiderInfo, *, item: Any = None
    ) -> None:
        # What get_media_requests asks for is not stored: the name comes from the bytes.
        return None

    async def media_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> FileInfo:
        url = str(request.meta[PICTURE_META])
        if response.status != 200:
            raise PictureRefused(f"http_{response.status}", f"HTTP {response.status}")
        body = response.body
        if len(body) > self.config.maxsize:
            raise PictureRefused(
                "too_large", f"larger than ARCHIVE_IMAGES_MAXSIZE ({self.config.maxsize} bytes)"
            )
        ext = sniff_image(body)
        if ext is None:
            kind = (response.headers.get(b"Content-Type") or b"no Content-Type").decode("latin-1")
            raise PictureRefused(
                "not_image", f"not a JPEG, PNG, GIF or WebP picture ({kind}, {len(body)} bytes)"
            )
        name = content_name(body, ext)
        path = self.folder / name
        if path.is_file():
            self.stats.inc_value(IMAGES_SAME_CONTENT)
        else:
            write_atomic(path, body, fsync=self.fsync)
            self.stats.inc_value(IMAGES_STORED)
        self.record.stored(url, name)
        return {
            "url": url,
            "path": name,
            "checksum": hashlib.sha256(body).hexdigest(),
            "status": "downloaded",
        }

    # Returns instead of raising: MediaPipeline logs a raised error with its traceback, and a
    # picture that failed is one line here (the item goes on either way).
    def media_failed(  # type: ignore[override]
        self, failure: Failure, request: Request, info: MediaPipeline.SpiderInfo
    ) -> None:
        url = str(request.meta[PICTURE_META])
        error = failure.value
        if isinstance(error, PictureRefused):
            reason, detail = error.reason, str(error)
        else:
            described = describe_failure(failure)
            reason, detail = described.reason, described.message
        self.stats.inc_value(IMAGES_FAILED + reason)
        if self._record is not None:
            self.record.failed(url, reason)
        logger.warning("Picture not stored (%s, tried again next run): %s: %s", reason, url, detail)

    def item_completed(
        self, results: list[FileInfoOrError], item: Any, info: MediaPipeline.SpiderInfo
    ) -> Any:
        return item

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: MediaPipeline.SpiderInfo | None = None,
        *,
        item: Any = None,
    ) -> str:
        """The stored name (:func:`~newsspider.archive.pictures.content_name`); it needs the
        picture's bytes."""
        if response is None:
            raise ValueError("a picture's file name comes from its content")
        ext = sniff_image(response.body) or "bin"
        return content_name(response.body, ext)


class LocalPicturePipeline(PicturePipeline):
    """:class:`PicturePipeline` for ``ARCHIVE_IMAGES=local``, before the archive writer: once
    the pictures of an :class:`~newsspider.items.ArticleItem` are fetched, passes on the item
    whose post shows each stored picture from ``ARCHIVE_IMAGES_URL``
    (:func:`newsspider.post.with_local_pictures`). A picture not stored keeps its remote URL,
    so no post points at a missing file. Those pictures are the item's ``remote_images``, which
    the index keeps: a refresh asks for such a post in full (not conditionally), so that its
    rewrite shows the files later runs have stored.
    """

    MODE = ImagesMode.LOCAL

    def item_completed(
        self, results: list[FileInfoOrError], item: Any, info: MediaPipeline.SpiderInfo
    ) -> Any:
        if not isinstance(item, ArticleItem) or self._record is None:
            return item
        stored = {url: name for url in item.images if (name := self.stored_name(url))}
        local = with_local_pictures(item, stored, self.config.url)
        remote = tuple(url for url in item.images if url not in stored and self._fetched(url))
        return dataclasses.replace(local, remote_images=remote) if remote else local

    def _fetched(self, url: str) -> bool:
        """True when ``url`` is a picture this pipeline fetches (allow list, URL rules)."""
        try:
            picture_url(url, self.config.hosts)
        except NotPictureUrl:
            return False
        return True
