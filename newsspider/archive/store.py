"""The archive, opened for writing: one object for its lock, recovery, index, paths, history
and the durability of its writes.

:meth:`ArchiveStore.open` does everything a run needs before it may write, in this order: take
the lock, remove the temp files a killed run left, open the index, replay its journal (posts
written just before a crash get their rows), repair what earlier versions wrote, and record the
pictures of the posts an earlier version indexed without them. One process
opens it once (in a crawl, :class:`newsspider.extensions.archive.CrawlArchive`) and
:meth:`ArchiveStore.close` commits, closes and gives the lock back.

It knows nothing of Scrapy: it takes plain values and says what it did (``opened`` has the
counts), and its owner logs and counts.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsspider.archive.files import TEMP_PREFIX, TEMP_SUFFIX, sync_folder, write_atomic
from newsspider.archive.history import Kept, WriteReason, keep_version, versions_written
from newsspider.archive.index import (
    IMPORT_URL_PREFIX,
    ORIGIN_ADOPTION,
    ArchiveIndex,
    IndexRow,
    VersionRow,
    remove_stale_temp_files,
)
from newsspider.archive.lock import ArchiveLock
from newsspider.archive.naming import category_dirs, legacy_title
from newsspider.archive.paths import PostPaths
from newsspider.archive.pictures import record_post_pictures
from newsspider.archive.repair import repair_index

ADOPTION_WINDOW = timedelta(hours=1)
"""An imported post is adopted by a crawled article with its title whose date is this close (the
archives the old pipeline wrote disagree with the roll's time by minutes); an import meets a
crawled post the same way (:func:`crawled_post`)."""


@dataclass(frozen=True)
class PostWrite:
    """What :func:`put_post` found and did: whether a post was at the path (``existed``),
    whether its bytes changed (``written``; when not, nothing was touched), and the SHA-256 of
    the post's bytes now; their ``size``, when it looked (``at``), and the previous bytes it
    moved to history (``kept``), if any."""

    existed: bool
    written: bool
    sha256: str
    size: int = 0
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    kept: Kept | None = None

    def versions(self, relative: str, why: WriteReason) -> tuple[VersionRow, ...]:
        """The version records of this write of the post at ``relative``, made for ``why``
        (:func:`~newsspider.archive.history.versions_written`)."""
        return versions_written(
            relative, at=self.at, why=why, sha256=self.sha256, size=self.size, kept=self.kept
        )


def put_post(root: Path, relative: str, data: bytes, *, fsync: bool = True) -> PostWrite:
    """Put ``data`` at ``relative`` under ``root``: nothing when the post there holds exactly
    these bytes; else its previous bytes, if any, into history first, then the new ones
    atomically (temp file, fsync with ``fsync``, rename). The folder is not synced: the store
    does that before the index commits the row (:meth:`ArchiveStore.written`).

    Only files, no index: a worker process runs it, so the crawl's process never blocks on a
    disk."""
    path = root / relative
    digest = hashlib.sha256(data).hexdigest()
    at = datetime.now(UTC)
    try:
        previous: bytes | None = path.read_bytes()
    except FileNotFoundError:
        previous = None
    if previous == data:
        return PostWrite(existed=True, written=False, sha256=digest, size=len(data), at=at)
    kept = None
    if previous is not None:
        file = keep_version(root, relative, previous, fsync=fsync, at=at)
        kept = Kept(
            file.relative_to(root).as_posix(),
            hashlib.sha256(previous).hexdigest(),
            len(previous),
        )
    write_atomic(path, data, fsync=fsync, folder_sync=False)
    return PostWrite(
        existed=previous is not None,
        written=True,
        sha256=digest,
        size=len(data),
        at=at,
        kept=kept,
    )


def sha256_of(path: Path) -> str | None:
    """The SHA-256 of a file, or None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass(frozen=True)
class Opened:
    """What opening the archive found and did."""

    temp_removed: int = 0
    recovered: int = 0
    repairs: tuple[str, ...] = ()
    pictures_recorded: int = 0


@dataclass
class ArchiveStore:
    """The archive at ``root``, open for writing by this process (see the module docstring).

    ``fsync``: every post is fsynced before its rename (by its writer), and the folders of the
    posts written since the last index commit before that commit, so that a committed row's
    post is on disk under its name even after a power cut.
    """

    root: Path
    index: ArchiveIndex
    lock: ArchiveLock
    fsync: bool = True
    opened: Opened = Opened()
    _paths: PostPaths | None = None
    _unsynced: set[Path] = field(default_factory=set)

    @classmethod
    def open(
        cls,
        root: Path,
        *,
        fsync: bool = True,
        lock_wait: float = 0.0,
        batch_size: int = 100,
        batch_seconds: float = 2.0,
    ) -> ArchiveStore:
        """Open the archive at ``root`` (created if missing) for writing. Raises
        :class:`~newsspider.archive.lock.ArchiveLockedError` when another run holds it for
        longer than ``lock_wait`` seconds; nothing is touched then."""
        root.mkdir(parents=True, exist_ok=True)
        lock = ArchiveLock(root)
        lock.acquire(wait=lock_wait)
        try:
            removed = remove_stale_temp_files(root, TEMP_PREFIX, TEMP_SUFFIX)
            index = ArchiveIndex(root, batch_size=batch_size, batch_seconds=batch_seconds)
        except BaseException:
            lock.release()
            raise
        store = cls(root, index, lock, fsync)
        index.before_commit = store._sync_folders
        recovered = index.recover(sha256_of)
        repairs = repair_index(index, root, fsync=fsync)
        pictures = record_post_pictures(index, root)
        store.opened = Opened(removed, recovered, tuple(repairs), pictures)
        store._paths = PostPaths(root, store._owner_of)
        return store

    def close(self) -> None:
        """Commit what was written, close the index and give the lock back, in that order:
        another run that takes the lock next finds every row committed."""
        try:
            self.index.close()
        finally:
            self.lock.release()

    # --- placing and recording posts ------------------------------------------------------------

    def place(
        self,
        url: str,
        docid: str | None,
        title: str,
        date: datetime,
        categories: tuple[str, ...],
    ) -> tuple[str, IndexRow | None]:
        """Where the article's post goes (relative to ``root``) and its index row, if it has
        one (found under ``url`` or ``docid``): an archived article keeps its path; a new one
        gets a name no other article has (:class:`~newsspider.archive.paths.PostPaths`).

        An article the index holds only as an imported post (``scrapy archive_import``: same
        folder, same title, or the title as the older pipeline wrote it, dates within
        :data:`ADOPTION_WINDOW`) is adopted: its row takes ``url`` as its key and the origin
        ``adoption``, and the post keeps its path. The row returned then still has the imported
        row's ``docid`` (None), which tells the caller it adopted it just now."""
        known = self.index.find(url, docid)
        if known is None and not url.startswith(IMPORT_URL_PREFIX):
            known = self._adopt(url, title, date, categories)
        if known is not None:
            return known.path, known
        assert self._paths is not None
        relative = self._paths.assign(
            url=url, docid=docid, title=title, date=date, categories=list(categories)
        )
        return relative, None

    def _adopt(
        self, url: str, title: str, date: datetime, categories: tuple[str, ...]
    ) -> IndexRow | None:
        imported = _near(self.index, title, date, categories, imported=True)
        if imported is None:
            return None
        self.index.rename(imported.url, url)
        self.index.touch(url, origin=ORIGIN_ADOPTION)
        return dataclasses.replace(imported, url=url, origin=ORIGIN_ADOPTION)

    def written(self, row: IndexRow, versions: Iterable[VersionRow] = ()) -> None:
        """Record a post its writer put on disk (atomically, fsynced), with the ``versions``
        that write made (:meth:`PostWrite.versions`; an importer makes its own): the journal
        keeps the row and the versions, on one line, until their transaction commits, and the
        post's folder is synced before that. A version kept in history must be on disk (its
        file fsynced) before it is recorded here."""
        records = tuple(versions)
        if self.fsync:
            self._unsynced.add((self.root / row.path).parent)
        self.index.journal(row, records)
        for version in records:
            self.index.put_version(version)
        self.index.put(row)

    def _sync_folders(self) -> None:
        while self._unsynced:
            sync_folder(self._unsynced.pop())

    def _owner_of(self, relative: str) -> str | None:
        row = self.index.by_path(relative)
        return row.url if row is not None else None


def _near(
    index: ArchiveIndex,
    title: str,
    date: datetime,
    categories: tuple[str, ...],
    *,
    imported: bool,
) -> IndexRow | None:
    moment = int(date.timestamp())
    window = int(ADOPTION_WINDOW.total_seconds())
    return index.near(
        category_dirs(categories).as_posix(),
        (title, legacy_title(title)),
        moment - window,
        moment + window,
        imported=imported,
    )


def crawled_post(
    index: ArchiveIndex, title: str, date: datetime, categories: tuple[str, ...]
) -> IndexRow | None:
    """The row of a crawled (or adopted) article that is this imported one, by the adoption
    rule seen from the import (same folder and title, dates within :data:`ADOPTION_WINDOW`)."""
    return _near(index, title, date, categories, imported=False)
