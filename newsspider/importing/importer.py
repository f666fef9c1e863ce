"""An import: the post versions of a source grouped into articles, and written into the archive.

Two passes. The scan reads every post the source yields once (:mod:`.sources`), reads it as a
legacy post (:mod:`.legacy`; unreadable files are listed, repaired ones noted) and groups the
versions into articles by the identity rule, keeping references, not bytes:

* two copies are **one article** when they are in the same channel and have the same body
  fingerprint and either the same title or dates within :data:`WINDOW`; or the same title and
  dates within :data:`WINDOW` (an article edited under the same feed date). Never by the exact
  date alone: archives built by different instances disagree on the date of one article by
  minutes;
* two copies of one article are **one version** when their :attr:`~.legacy.LegacyPost.version`
  matches (the same title and content; the random head image and the run's date left out).
  The first copy met is kept; a copy that needed no repair is preferred to one that did.

The write pass puts each article into the archive: its newest version (by the time of the
newest commit that held it) as the post, the others as history, the original bytes of repaired
copies as history too. The :class:`~.ledger.ImportLedger` remembers every article and version
imported, so a second import of the same source changes nothing, and an import of another
archive into the same ``ARCHIVE_DIR`` merges by the same rule: a version met again is not
written again, a newer one becomes the post (the old post goes to history), an older one goes
to history.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from newsspider.archive.history import (
    WriteReason,
    find_version,
    iso,
    keep_version,
    versions_written,
)
from newsspider.archive.index import (
    IMPORT_URL_PREFIX,
    LIVE,
    ORIGIN_IMPORT,
    ArchiveIndex,
    IndexRow,
    VersionRow,
    now_iso,
)
from newsspider.archive.pictures import images_of_post
from newsspider.archive.store import ArchiveStore, PostWrite, crawled_post, put_post
from newsspider.importing.ledger import ImportLedger
from newsspider.importing.legacy import (
    LegacyPost,
    Unreadable,
    normalize_post,
    read_legacy_post,
    target_categories,
)
from newsspider.importing.sources import Found, Progress, Source
from newsspider.sina.channels import CHANNEL_TABLE

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
"""Copies of one article may carry dates this far apart (instances disagree by 5–23 minutes)."""

HISTORY_REASON = WriteReason.IMPORT
"""Why the versions an import writes were written, as their records say."""

_BATCH = 200  # articles per ledger transaction
_PROGRESS_SECONDS = 2.0

_CHANNEL_NAMES = {channel.title: channel.name for channel in CHANNEL_TABLE}


def channel_name(folder: str) -> str:
    """The index's channel for a legacy channel folder (``新浪财经－国內`` → ``china``); a folder
    no roll channel has keeps its own name."""
    return _CHANNEL_NAMES.get(folder, folder)


@dataclass(frozen=True)
class Copy:
    """One distinct version of an article, as a reference into its source."""

    found: Found
    version: str
    fingerprint: str
    title: str
    moment: datetime
    repairs: tuple[str, ...]


@dataclass
class ScannedArticle:
    """The versions of one article the scan found."""

    channel: str
    title: str
    low: datetime
    high: datetime
    fingerprints: set[str] = field(default_factory=set)
    titles: set[str] = field(default_factory=set)
    copies: dict[str, Copy] = field(default_factory=dict)
    repaired: list[Found] = field(default_factory=list)
    """The copies that needed a repair, whether kept or not: their original bytes are kept as
    history."""

    def near(self, moment: datetime) -> bool:
        return self.low - WINDOW <= moment <= self.high + WINDOW

    def add(self, copy: Copy) -> None:
        self.low = min(self.low, copy.moment)
        self.high = max(self.high, copy.moment)
        self.fingerprints.add(copy.fingerprint)
        self.titles.add(copy.title)
        self.copies[copy.version] = copy


@dataclass
class ImportSummary:
    """What an import found and did."""

    source: str
    commits: int = 0
    versions_read: int = 0
    articles: int = 0
    identical: int = 0
    history: int = 0
    other_feeds: int = 0
    repaired: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    unreadable_reasons: Counter[str] = field(default_factory=Counter)
    new_posts: int = 0
    updated_posts: int = 0
    history_written: int = 0
    merged_with_crawled: int = 0
    already_imported: int = 0
    dry_run: bool = False

    def line(self) -> str:
        """The summary line: ``Imported: 12,408 articles from 3,117 commits (21,950 post
        versions); 9,512 identical copies skipped; …``."""
        origin = f"from {self.commits:,} commits" if self.commits else f"from {self.source}"
        verb = "Would import" if self.dry_run else "Imported"
        return (
            f"{verb}: {self.articles:,} articles {origin} ({self.versions_read:,} post "
            f"versions); {self.identical:,} identical copies skipped; {self.history:,} earlier "
            f"versions kept as history; {len(self.repaired):,} repaired; "
            f"{len(self.unreadable):,} unreadable (listed); {self.other_feeds:,} posts of other "
            "feeds skipped"
        )

    def archive_line(self) -> str:
        """What the archive gained: new and updated posts, versions added to its history."""
        verb = "would get" if self.dry_run else "got"
        return (
            f"Archive {verb}: {self.new_posts:,} new posts, {self.updated_posts:,} updated, "
            f"{self.history_written:,} versions added to history; "
            f"{self.merged_with_crawled:,} articles crawled already (the imported versions "
            f"kept as their history); {self.already_imported:,} articles already imported "
            "unchanged"
        )


def scan(
    source: Source,
    summary: ImportSummary,
    progress: Progress | None = None,
) -> list[ScannedArticle]:
    """Read every post of ``source`` and group the versions into articles (the module
    docstring's rule). Unreadable and repaired posts are logged, one line each, and listed in
    ``summary``."""
    articles: list[ScannedArticle] = []
    by_fingerprint: dict[tuple[str, str], ScannedArticle] = {}
    by_title: dict[tuple[str, str], list[ScannedArticle]] = {}
    for found in source.scan(progress):
        where = _where(found)
        try:
            data = source.read(found)
        except (OSError, KeyError, ValueError) as exc:
            _unreadable(summary, where, "unreadable", str(exc))
            continue
        post = read_legacy_post(data, found.time)
        if isinstance(post, Unreadable):
            _unreadable(summary, where, post.reason, post.detail)
            continue
        summary.versions_read += 1
        if post.repairs:
            summary.repaired.append(f"{where}: {'; '.join(post.repairs)}")
            logger.warning("Repaired %s: %s", where, "; ".join(post.repairs))
        copy = Copy(
            found=found,
            version=post.version,
            fingerprint=post.fingerprint,
            title=post.title,
            moment=post.date or found.time,
            repairs=post.repairs,
        )
        article = _match(found.channel, copy, by_fingerprint, by_title)
        if article is None:
            article = ScannedArticle(found.channel, copy.title, copy.moment, copy.moment)
            articles.append(article)
        if copy.repairs:
            article.repaired.append(found)
        if copy.version in article.copies:
            summary.identical += 1
            kept = article.copies[copy.version]
            if not kept.repairs or copy.repairs:
                continue  # the first copy met stays, unless it was repaired and this one not
        article.add(copy)
        by_fingerprint.setdefault((found.channel, copy.fingerprint), article)
        group = by_title.setdefault((found.channel, copy.title), [])
        if article not in group:
            group.append(article)
    summary.commits = source.commits
    summary.other_feeds = source.other_feeds
    summary.articles = len(articles)
    summary.history = sum(len(article.copies) - 1 for article in articles)
    return articles


def _where(found: Found) -> str:
    return f"{found.path} @{found.commit[:10]}" if found.commit else found.path


def _unreadable(summary: ImportSummary, where: str, reason: str, detail: str) -> None:
    summary.unreadable.append(f"{where}: {reason}: {detail}")
    summary.unreadable_reasons[reason] += 1
    logger.warning("Unreadable, not imported (%s): %s: %s", reason, where, detail)


def _match(
    channel: str,
    copy: Copy,
    by_fingerprint: dict[tuple[str, str], ScannedArticle],
    by_title: dict[tuple[str, str], list[ScannedArticle]],
) -> ScannedArticle | None:
    same_body = by_fingerprint.get((channel, copy.fingerprint))
    if same_body is not None and (copy.title in same_body.titles or same_body.near(copy.moment)):
        return same_body
    for article in by_title.get((channel, copy.title), ()):
        if article.near(copy.moment):
            return article
    return None


@dataclass
class Importer:
    """Writes scanned articles into an open archive (or, with ``store`` None, says what it
    would write: ``--dry-run``, which reads the archive's index ``index``, if it has one).
    ``normalize``: posts in today's exact format (:func:`~.legacy.normalize_post`), the
    original bytes as history."""

    source: Source
    ledger: ImportLedger
    store: ArchiveStore | None
    normalize: bool = False
    index: ArchiveIndex | None = None
    summary: ImportSummary = field(init=False)
    _read: Callable[[Found], bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.summary = ImportSummary(self.source.description, dry_run=self.store is None)
        self._read = self.source.read
        if self.store is not None:
            self.index = self.store.index

    def run(self, progress: Progress | None = None) -> ImportSummary:
        """Scan the source, then write every article; returns the summary."""
        articles = scan(self.source, self.summary, progress)
        last = time.monotonic()
        for done, article in enumerate(articles, 1):
            self._put(article)
            if self.ledger.pending >= _BATCH:
                self._commit()
            if time.monotonic() - last >= _PROGRESS_SECONDS:
                last = time.monotonic()
                logger.info(
                    "Import: %s of %s articles put in the archive",
                    f"{done:,}",
                    f"{len(articles):,}",
                )
        self._commit()
        return self.summary

    def _commit(self) -> None:
        if self.store is not None:
            self.store.index.commit()
        self.ledger.commit()

    def _put(self, article: ScannedArticle) -> None:
        known = self.ledger.find(
            article.channel, article.fingerprints, article.titles, article.low, article.high, WINDOW
        )
        copies = sorted(article.copies.values(), key=lambda c: c.found.time)
        new = [c for c in copies if known is None or c.version not in known.versions]
        if not new:
            self.summary.already_imported += 1
            return
        newest = new[-1]
        crawled = None
        if known is None and self.index is not None:
            categories = target_categories(article.channel)
            crawled = crawled_post(self.index, newest.title, newest.moment, categories)
        # A post a crawl wrote is newer than any copy of the old pipeline: those go to history.
        becomes_post = crawled is None and (known is None or newest.found.time >= known.post_time)
        if crawled is not None:
            self.summary.merged_with_crawled += 1
        elif known is None:
            self.summary.new_posts += 1
        elif becomes_post:
            self.summary.updated_posts += 1
        as_history = new[:-1] if becomes_post else new
        replaced = 1 if becomes_post and known is not None else 0  # the previous post
        self.summary.history_written += len(as_history) + len(article.repaired) + replaced
        if self.store is None:
            return
        key = known.key if known is not None else _article_key(article)
        if known is not None:
            path = known.path
        elif crawled is not None:
            path = crawled.path
        else:
            path = self._place(key, newest)
        for copy in as_history:
            self._keep(path, self._bytes(copy, article.channel), copy.found.time)
        for found in article.repaired:  # the bytes as the source has them, before the repair
            self._keep(path, self._read(found), found.time)
        post_copy = newest if becomes_post else None
        if post_copy is not None:
            data = self._bytes(post_copy, article.channel)
            put = put_post(self.store.root, path, data, fsync=self.store.fsync)
            self._index(key, article, post_copy, path, put, data)
        self.ledger.record(
            key=key,
            channel=article.channel,
            path=path,
            titles=article.titles,
            fingerprints=article.fingerprints,
            low=article.low,
            high=article.high,
            post_time=post_copy.found.time if post_copy is not None else None,
            versions=[(c.version, c.found.path, c.found.commit, c.found.time) for c in new],
            source=self.source.description,
        )

    def _bytes(self, copy: Copy, channel: str) -> bytes:
        post = read_legacy_post(self._read(copy.found), copy.found.time)
        if not isinstance(post, LegacyPost):  # the source changed under the import
            raise ValueError(f"{copy.found.path} no longer reads: {post.detail}")
        if self.normalize:
            return normalize_post(post, channel, copy.moment)
        return post.data

    def _keep(self, path: str, data: bytes, when: datetime) -> None:
        """Keep ``data``, the version of the post at ``path`` the source had at ``when``, as an
        earlier version, once (a rerun after an interrupted import finds it there), and record
        it (reason ``import``)."""
        assert self.store is not None
        sha = hashlib.sha256(data).hexdigest()
        if find_version(self.store.root, path, sha) is not None:
            return
        file = keep_version(self.store.root, path, data, fsync=self.store.fsync)
        kept = file.relative_to(self.store.root).as_posix()
        version = VersionRow(path, iso(when), HISTORY_REASON, sha, len(data), kept)
        self.store.index.put_version(version)

    def _place(self, key: str, copy: Copy) -> str:
        assert self.store is not None
        relative, _row = self.store.place(
            IMPORT_URL_PREFIX + key,
            None,
            copy.title,
            copy.moment,
            target_categories(copy.found.channel),
        )
        return relative

    def _index(
        self,
        key: str,
        article: ScannedArticle,
        copy: Copy,
        path: str,
        put: PostWrite,
        data: bytes,
    ) -> None:
        assert self.store is not None
        # A crawl may have adopted the post since: its row, under the article's URL, stays.
        existing = self.store.index.by_path(path) or self.store.index.get(IMPORT_URL_PREFIX + key)
        url = existing.url if existing is not None else IMPORT_URL_PREFIX + key
        checked = now_iso()
        row = IndexRow(
            url=url,
            docid=existing.docid if existing is not None else None,
            channel=channel_name(article.channel),
            path=path,
            sha256=put.sha256,
            title=copy.title,
            intime=int(copy.moment.timestamp()),
            mtime=None,
            etag=None,
            last_modified=None,
            first_archived=existing.first_archived if existing is not None else checked,
            last_checked=checked,
            status=LIVE,
            images=images_of_post(data),
            origin=None if existing is not None else ORIGIN_IMPORT,
            source=self.source.description,
            source_commit=copy.found.commit,
        )
        if put.written:
            versions = versions_written(
                path,
                at=copy.found.time,
                why=HISTORY_REASON,
                sha256=put.sha256,
                size=put.size,
                kept=put.kept,
            )
            self.store.written(row, versions)
        else:
            self.store.index.put(row)


def _article_key(article: ScannedArticle) -> str:
    first = min(article.copies.values(), key=lambda c: (c.found.time, c.version))
    seed = f"{article.channel}\0{first.title}\0{first.fingerprint}"
    return hashlib.sha256(seed.encode()).hexdigest()[:20]
