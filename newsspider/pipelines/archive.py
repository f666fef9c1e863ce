"""The archive writer: each post written atomically into the archive, and recorded in its index.

The crawl's process does only what needs the archive's index: choose the post's path, record
the row. The file work blocks (compare with the post on disk, keep its previous bytes in history,
write through a temp file, fsync and rename: :func:`newsspider.archive.store.put_post`), so a
worker process does it.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from newsspider.archive.history import WriteReason
from newsspider.archive.index import GONE, LIVE, ORIGIN_ADOPTION, IndexRow, now_iso, to_unix
from newsspider.archive.store import ArchiveStore, put_post
from newsspider.config import ArchiveConfig, Config
from newsspider.extensions.archive import CrawlArchive
from newsspider.failures import NotArchived
from newsspider.items import ArticleCheck, ArticleItem
from newsspider.stats import (
    ARCHIVE_ADOPTED,
    ARCHIVE_GONE,
    ARCHIVE_HISTORY,
    ARCHIVE_NEW,
    ARCHIVE_UNCHANGED,
    ARCHIVE_UPDATED,
    ARCHIVE_WRITTEN,
)
from newsspider.workers import WORKER_CRASHED, WorkerCrashed, WorkerPool

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ArchiveWriterPipeline:
    """Writes each :class:`~newsspider.items.ArticleItem` under ``ARCHIVE_DIR`` (passing on a
    copy with ``post_path`` set) and records each :class:`~newsspider.items.ArticleCheck`.

    * A post is written through a temp file and a rename; one whose bytes did not change is not
      touched. Before a post is overwritten, its previous bytes go to
      ``ARCHIVE_DIR/.newsspider/history/<post path without .md>/<time>-<sha>.md``: no rewrite
      loses text.
    * A post already on disk that the index does not know (an archive from the older pipeline)
      is adopted: recorded, and rewritten only when the new rendering differs.
    * Every version written is recorded with why it was written: the spider's
      ``write_reason`` (a :class:`~newsspider.archive.history.WriteReason` value; ``crawl``
      for a spider that names none), or ``adoption`` for an adopted post, also when its bytes
      were kept as they were.
    * An article whose worker process died before its post was written fails
      (``sina/failed/worker_crashed``); it is not indexed, so the next run fetches it again.

    Stats: ``archive/new``, ``archive/updated``, ``archive/written`` (both), ``archive/unchanged``,
    ``archive/adopted``, ``archive/gone``, ``archive/history``.
    """

    def __init__(self, crawler: Crawler, store: ArchiveStore, config: ArchiveConfig) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.store = store
        self.config = config
        self.workers = WorkerPool.of(crawler)
        self.reason = _reason_of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveWriterPipeline:
        return cls(
            crawler,
            CrawlArchive.store_of(crawler),
            Config.of(crawler).archive,
        )

    def open_spider(self) -> None:
        logger.info(
            "Archive: %s (body: %s, %d articles indexed)",
            self.store.root,
            self.config.body.value,
            self.store.index.count(),
        )

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleCheck):
            self._record_check(item)
        elif isinstance(item, ArticleItem):
            return await self._write(item)
        return item

    def _record_check(self, check: ArticleCheck) -> None:
        index = self.store.index
        if index.get(check.url) is None:
            return  # spiders check rows by the URL the index holds
        changes: dict[str, Any] = {"last_checked": now_iso()}
        if check.etag:
            changes["etag"] = check.etag
        if check.last_modified:
            changes["last_modified"] = check.last_modified
        if check.updated_at is not None:
            changes["mtime"] = to_unix(check.updated_at)
        if check.status == GONE:
            changes["status"] = GONE
            self.stats.inc_value(ARCHIVE_GONE)
            logger.info("Gone (the post is kept): %s", check.url)
        else:
            changes["status"] = LIVE
            self.stats.inc_value(ARCHIVE_UNCHANGED)
        index.touch(check.url, **changes)

    async def _write(self, item: ArticleItem) -> ArticleItem:
        store = self.store
        relative, known = store.place(item.url, item.docid, item.title, item.date, item.categories)
        try:
            # Comparing, keeping history and writing are file work: a worker process does it.
            # The folder is synced before the index commits the row (ArchiveStore.written).
            put = await self.workers.run(
                put_post, store.root, relative, item.post, fsync=store.fsync
            )
        except WorkerCrashed as exc:
            # Not indexed: the next run fetches the article again, and finds the post if it
            # did reach the disk.
            raise NotArchived(WORKER_CRASHED, str(exc), failed=True) from exc
        checked = now_iso()
        row = IndexRow(
            url=known.url if known is not None else item.url,  # one row per article
            docid=item.docid,
            channel=item.channel,
            path=relative,
            sha256=put.sha256,
            title=item.title,
            intime=to_unix(item.listed_at),
            mtime=to_unix(item.updated_at),
            etag=item.etag,
            last_modified=item.last_modified,
            first_archived=known.first_archived if known else checked,
            last_checked=checked,
            status=LIVE,
            images=item.images,
            remote_images=item.remote_images,
            capture_file=item.capture.file if item.capture is not None else None,
            capture_offset=item.capture.offset if item.capture is not None else None,
        )
        adopted = known is None and put.existed
        if adopted:
            self.stats.inc_value(ARCHIVE_ADOPTED)
            logger.info("Adopted %s", relative)
        elif known is not None and known.origin == ORIGIN_ADOPTION and known.docid is None:
            adopted = True
            self.stats.inc_value(ARCHIVE_ADOPTED)  # an imported post, met by a crawl just now
            logger.info("Adopted the imported post %s for %s", relative, item.url)
        why = WriteReason.ADOPTION if adopted else self.reason
        if not put.written:
            self.stats.inc_value(ARCHIVE_UNCHANGED)
            store.index.put(row)
            # An adopted post, as it was, becomes a version of the archive; so does a post
            # whose bytes the index did not know (written by a run killed before it recorded
            # the write).
            if adopted or (known is not None and known.sha256 != put.sha256):
                for version in put.versions(relative, why):
                    store.index.put_version(version)
            return dataclasses.replace(item, post_path=relative)
        if put.existed:
            self.stats.inc_value(ARCHIVE_HISTORY)
        store.written(row, put.versions(relative, why))
        self.stats.inc_value(ARCHIVE_WRITTEN)
        self.stats.inc_value(ARCHIVE_UPDATED if put.existed else ARCHIVE_NEW)
        return dataclasses.replace(item, post_path=relative)


def _reason_of(crawler: Crawler) -> WriteReason:
    """Why the crawl's spider writes posts: its class's ``write_reason``, ``crawl`` when it
    names none. A value that is no reason is a programming error, refused at start."""
    spider = crawler.spidercls
    value = getattr(spider, "write_reason", WriteReason.CRAWL)
    try:
        return WriteReason(value)
    except ValueError:
        reasons = ", ".join(reason.value for reason in WriteReason)
        raise ValueError(
            f"{spider.__name__}.write_reason = {value!r} is not one of {reasons}"
        ) from None
