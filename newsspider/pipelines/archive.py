"""Writes each post into the archive, atomically, and records it in the archive index."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsspider.archive import lock
from newsspider.archive.files import TEMP_PREFIX, TEMP_SUFFIX, sync_folder, write_atomic
from newsspider.archive.history import keep_version
from newsspider.archive.index import (
    GONE,
    LIVE,
    ArchiveIndex,
    IndexRow,
    now_iso,
    remove_stale_temp_files,
    to_unix,
)
from newsspider.archive.paths import PostPaths
from newsspider.archive.repair import repair_index
from newsspider.config import ArchiveConfig
from newsspider.exporters import HexoPostExporter
from newsspider.extensions.archive import CrawlArchive
from newsspider.items import ArticleCheck, ArticleItem
from newsspider.pipelines.normalize import worker_failure
from newsspider.workers import WorkerCrashed, WorkerPool

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def sha256_of(path: Path) -> str | None:
    """The SHA-256 of a file, or None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def render(item: ArticleItem) -> bytes:
    """The post bytes, through the Hexo post exporter."""
    buffer = io.BytesIO()
    exporter = HexoPostExporter(buffer)
    exporter.start_exporting()
    exporter.export_item(item)
    exporter.finish_exporting()
    return buffer.getvalue()


class ArchiveWriterPipeline:
    """Writes each ``ArticleItem`` under ``ARCHIVE_DIR`` and records ``ArticleCheck`` results.

    * A post is written through a temp file and a rename; one whose bytes did not change is not
      touched. Before a post is overwritten, its previous bytes go to
      ``ARCHIVE_DIR/.newsspider/history/<post path without .md>/<time>-<sha>.md``: no rewrite
      loses text.
    * A post already on disk that the index does not know (an archive from the older pipeline)
      is adopted: recorded, and rewritten only when the new rendering differs.
    * At start it takes the archive lock, removes temp files a killed run left, and replays the
      index journal so that posts written just before a crash are indexed.

    Stats: ``archive/new``, ``archive/updated``, ``archive/written`` (both), ``archive/unchanged``,
    ``archive/adopted``, ``archive/gone``, ``archive/history``, ``archive/recovered``.
    """

    def __init__(self, crawler: Crawler, config: ArchiveConfig) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.config = config
        self.index: ArchiveIndex | None = None
        self.paths: PostPaths | None = None
        self.workers = WorkerPool.of(crawler)
        self._unsynced: set[Path] = set()  # folders with renames not yet fsynced

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveWriterPipeline:
        return cls(crawler, ArchiveConfig.from_settings(crawler.settings))

    def open_spider(self) -> None:
        root = self.config.root
        root.mkdir(parents=True, exist_ok=True)
        lock.acquire(root, wait=self.config.lock_wait)
        removed = remove_stale_temp_files(root, TEMP_PREFIX, TEMP_SUFFIX)
        if removed:
            self.stats.inc_value("archive/temp_removed", removed)
            logger.info("Removed %d temp file(s) left by an interrupted run", removed)
        self.index = CrawlArchive.index_of(self.crawler)
        self.index.before_commit = self._sync_folders
        recovered = self.index.recover(sha256_of)
        if recovered:
            self.stats.inc_value("archive/recovered", recovered)
            logger.info("Indexed %d post(s) an interrupted run wrote", recovered)
        repairs = repair_index(self.index, root, fsync=self.config.fsync)
        for line in repairs:
            logger.warning("Repaired the index: %s", line)
        if repairs:
            self.stats.inc_value("archive/repaired", len(repairs))
        self.paths = PostPaths(root, self._owner_of)
        logger.info(
            "Archive: %s (body: %s, %d articles indexed)",
            root,
            self.config.body.value,
            self.index.count(),
        )

    def close_spider(self) -> None:
        if self.index is not None:
            # What this run wrote is committed before another run may take the lock; the
            # index itself is closed by its owner (CrawlArchive) when the spider closes.
            self.index.commit()
        lock.release(self.config.root)

    def _sync_folders(self) -> None:
        """fsync the folders of the posts written since the last index commit: a committed
        row's post is on disk under its name, even after a power cut."""
        while self._unsynced:
            sync_folder(self._unsynced.pop())

    def _owner_of(self, relative: str) -> str | None:
        assert self.index is not None
        row = self.index.by_path(relative)
        return row.url if row is not None else None

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleCheck):
            self._record_check(item)
        elif isinstance(item, ArticleItem):
            await self._write(item)
        return item

    def _record_check(self, check: ArticleCheck) -> None:
        assert self.index is not None
        if self.index.get(check.url) is None:
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
            self.stats.inc_value("archive/gone")
            logger.info("Gone (the post is kept): %s", check.url)
        else:
            changes["status"] = LIVE
            self.stats.inc_value("archive/unchanged")
        self.index.touch(check.url, **changes)

    async def _write(self, item: ArticleItem) -> None:
        assert self.index is not None and self.paths is not None
        assert item.title is not None and item.date is not None
        known = self.index.find(item.url, item.docid)
        url = known.url if known is not None else item.url  # one row per article
        if known is not None:
            relative = known.path
        else:
            relative = self.paths.assign(
                url=item.url,
                docid=item.docid,
                title=item.title,
                date=item.date,
                categories=item.categories,
            )
        path = self.config.root / relative
        data = render(item)
        digest = hashlib.sha256(data).hexdigest()
        try:
            previous: bytes | None = path.read_bytes()
        except FileNotFoundError:
            previous = None
        checked = now_iso()
        row = IndexRow(
            url=url,
            docid=item.docid,
            channel=item.channel,
            path=relative,
            sha256=digest,
            title=item.title,
            intime=to_unix(item.listed_at),
            mtime=to_unix(item.updated_at),
            etag=item.etag,
            last_modified=item.last_modified,
            first_archived=known.first_archived if known else checked,
            last_checked=checked,
            status=LIVE,
        )
        if known is None and previous is not None:
            self.stats.inc_value("archive/adopted")
            logger.info("Adopted %s", relative)
        if previous == data:
            self.stats.inc_value("archive/unchanged")
        else:
            if previous is not None:
                self._keep_history(relative, previous)
            try:
                # In a worker process: creating, fsyncing and renaming files blocks. The
                # folder is synced before the index commits the row (_sync_folders).
                await self.workers.run(
                    write_atomic, path, data, fsync=self.config.fsync, folder_sync=False
                )
            except WorkerCrashed as exc:
                # Not indexed: the next run fetches the article again, and finds the post
                # if it did reach the disk.
                raise worker_failure(self.stats, item, exc) from exc
            if self.config.fsync:
                self._unsynced.add(path.parent)
            # Until its batch commits, the journal lets the next start index this post even
            # if the process is killed now.
            self.index.journal(row)
            self.stats.inc_value("archive/written")
            self.stats.inc_value("archive/updated" if previous is not None else "archive/new")
        self.index.put(row)
        item.post_path = relative

    def _keep_history(self, relative: str, previous: bytes) -> None:
        keep_version(self.config.root, relative, previous, fsync=self.config.fsync)
        self.stats.inc_value("archive/history")
