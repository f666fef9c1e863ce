"""The archive index: one SQLite row per archived article, the crawler's memory across runs.

Lives in ``ARCHIVE_DIR/.newsspider/index.sqlite3`` (WAL mode). Writes are batched into
transactions; the row of each post written is also appended to a small journal
(``index.journal``) until its transaction commits, so that a row whose post was written but never
committed (a killed process) is recovered at the next start: :meth:`ArchiveIndex.recover`
replays the journal against the files on disk.

The ``versions`` table records the versions of each post (:class:`VersionRow`): when and why
each was written, its SHA-256 and size, and where its bytes are. A version is journaled on the
same line as the row of the write that made it, so the two are recovered together or not at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from newsspider.archive.warc import WarcLocation

logger = logging.getLogger(__name__)

STATE_DIR = ".newsspider"
INDEX_NAME = "index.sqlite3"
JOURNAL_NAME = "index.journal"

LIVE = "live"
GONE = "gone"

# Where a post came from (the ``origin`` column; NULL in rows written before it: crawled).
ORIGIN_CRAWL = "crawl"
ORIGIN_IMPORT = "import"
"""Imported from a legacy archive (``scrapy archive_import``); ``source``/``source_commit``
say from which repository or folder and commit."""
ORIGIN_ADOPTION = "adoption"
"""Imported, then met by a crawl, which gave the row its URL and docid (and kept the post's
path)."""
IMPORT_URL_PREFIX = "import:"
"""The key of an imported article's row until a crawl adopts it: ``import:<id>``."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    url TEXT PRIMARY KEY,
    docid TEXT,
    channel TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    title TEXT NOT NULL,
    intime INTEGER,
    mtime INTEGER,
    etag TEXT,
    last_modified TEXT,
    first_archived TEXT NOT NULL,
    last_checked TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'live',
    images TEXT,
    remote_images TEXT,
    origin TEXT,
    source TEXT,
    source_commit TEXT,
    capture_file TEXT,
    capture_offset INTEGER
);
CREATE INDEX IF NOT EXISTS articles_path ON articles (path);
CREATE INDEX IF NOT EXISTS articles_docid ON articles (docid);
CREATE INDEX IF NOT EXISTS articles_channel ON articles (channel);
CREATE INDEX IF NOT EXISTS articles_intime ON articles (intime);
CREATE INDEX IF NOT EXISTS articles_checked ON articles (last_checked);
CREATE TABLE IF NOT EXISTS versions (
    path TEXT NOT NULL,
    at TEXT,
    why TEXT,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    kept TEXT
);
CREATE INDEX IF NOT EXISTS versions_path ON versions (path);
CREATE UNIQUE INDEX IF NOT EXISTS versions_kept ON versions (kept) WHERE kept IS NOT NULL;
"""


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def to_unix(moment: datetime | None) -> int | None:
    """Unix seconds of an aware datetime, or None."""
    return int(moment.timestamp()) if moment is not None else None


class Selection(Protocol):
    """A choice of archived articles (a refresh's ``--since``/``--channel``/…), as an SQL
    condition on the ``articles`` columns and as the same test on one row."""

    def where(self, now: datetime) -> tuple[str, tuple[Any, ...]]: ...

    def matches(self, row: IndexRow, now: datetime) -> bool: ...


@dataclass(frozen=True)
class IndexRow:
    """One archived article. ``path`` is relative to the archive root; times are unix seconds
    (``intime``/``mtime`` from the roll) or ISO 8601 UTC (``first_archived``/``last_checked``).

    ``images``: the pictures the post shows (their own URLs, as
    :func:`newsspider.archive.pictures.post_images` gives them), or None when the index does
    not know them (a post archived before the index recorded pictures). ``remote_images``:
    those the post shows from their remote URL though they are to be fetched (a post written
    with ``ARCHIVE_IMAGES=local`` before they were stored; empty in the other modes). Putting
    a row whose ``images`` or ``remote_images`` is None keeps what the index knew.

    ``origin``: ``crawl``, ``import`` or ``adoption`` (:data:`ORIGIN_IMPORT`, …; None is a
    crawl's row), ``source`` and ``source_commit``: the repository (or folder) and commit an
    imported post came from. Putting a row whose ``origin``, ``source`` or ``source_commit`` is
    None keeps what the index knew, so a crawl's rewrite of an imported post keeps its origin.

    ``capture_file``/``capture_offset``: where the latest capture of the article's page is (a
    WARC file of ``.newsspider/warc/`` and the offset of its response record), None when no
    page of it was captured; a row put without one keeps what the index knew."""

    url: str
    docid: str | None
    channel: str
    path: str
    sha256: str
    title: str
    intime: int | None
    mtime: int | None
    etag: str | None
    last_modified: str | None
    first_archived: str
    last_checked: str
    status: str = LIVE
    images: tuple[str, ...] | None = None
    remote_images: tuple[str, ...] | None = None
    origin: str | None = None
    source: str | None = None
    source_commit: str | None = None
    capture_file: str | None = None
    capture_offset: int | None = None

    @property
    def capture(self) -> WarcLocation | None:
        """Where the article's latest captured page is, or None."""
        if self.capture_file is None or self.capture_offset is None:
            return None
        return WarcLocation(self.capture_file, self.capture_offset)

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | sqlite3.Row) -> IndexRow:
        """The row of ``record``: an SQLite row, or the JSON object :meth:`to_record` made
        (the journal's lines, the distributed mode's published rows). A record without
        ``images`` or a capture (an index or journal of an earlier version) has None."""
        values = dict(record)
        for column in _URL_LISTS:
            urls = values.pop(column, None)
            if isinstance(urls, str):
                urls = json.loads(urls)
            if urls is not None:
                values[column] = tuple(str(url) for url in urls)
        return cls(**values)

    def to_record(self) -> dict[str, Any]:
        """The row as a JSON-ready mapping, read back by :meth:`from_record`."""
        # dataclasses.asdict() deep-copies: slow, for a journal line per post.
        fields = {name: getattr(self, name) for name in _COLUMNS}
        for column in _URL_LISTS:
            if fields[column] is not None:
                fields[column] = list(fields[column])
        return fields


_COLUMNS = [f.name for f in dataclasses.fields(IndexRow)]
# Columns that hold a list of URLs, as a JSON array (NULL: not known).
_URL_LISTS = ("images", "remote_images")
_CAPTURE_COLUMNS = ("capture_file", "capture_offset")
# Columns a row put without them (None) keeps: the URL lists, where the post came from, and
# the latest capture (the writer sets both capture columns or neither).
_KEPT_WHEN_NONE = (*_URL_LISTS, "origin", "source", "source_commit", *_CAPTURE_COLUMNS)
_JOURNAL_VERSIONS = "versions"  # the key of a journal line's versions, beside the row's columns
_UPSERT = (
    f"INSERT INTO articles ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT(url) DO UPDATE SET "
    + ", ".join(
        f"{c} = COALESCE(excluded.{c}, articles.{c})"
        if c in _KEPT_WHEN_NONE
        else f"{c} = excluded.{c}"
        for c in _COLUMNS
        if c not in ("url", "first_archived")
    )
)


def _sql_values(row: IndexRow) -> list[Any]:
    values = [getattr(row, c) for c in _COLUMNS]
    for column in _URL_LISTS:
        at = _COLUMNS.index(column)
        if values[at] is not None:
            values[at] = json.dumps(list(values[at]), ensure_ascii=False)
    return values


def _has_column(db: sqlite3.Connection, name: str) -> bool:
    return any(found[1] == name for found in db.execute("PRAGMA table_info(articles)"))


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return db.execute(query, (name,)).fetchone() is not None


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Give an index made by an earlier version the columns added since."""
    for column in (*_URL_LISTS, "origin", "source", "source_commit", "capture_file"):
        if not _has_column(db, column):
            db.execute(f"ALTER TABLE articles ADD COLUMN {column} TEXT")
    if not _has_column(db, "capture_offset"):
        db.execute("ALTER TABLE articles ADD COLUMN capture_offset INTEGER")


@dataclass(frozen=True)
class VersionRow:
    """One recorded version of the post at ``path`` (relative to the archive root).

    ``at``: when it was written (ISO 8601 UTC, to the microsecond), ``why``: the reason
    (a :class:`newsspider.archive.history.WriteReason` value); either is None when not known (a
    version an earlier release kept without saying). ``kept``: the history file (relative to
    the root) that holds its bytes once it was replaced, None while it is the post itself."""

    path: str
    at: str | None
    why: str | None
    sha256: str
    size: int
    kept: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | sqlite3.Row) -> VersionRow:
        """The version of ``record`` (an SQLite row, or a mapping :meth:`to_record` made)."""
        values = dict(record)
        return cls(
            path=str(values["path"]),
            at=None if values.get("at") is None else str(values["at"]),
            why=None if values.get("why") is None else str(values["why"]),
            sha256=str(values["sha256"]),
            size=int(values["size"]),
            kept=None if values.get("kept") is None else str(values["kept"]),
        )

    def to_record(self) -> dict[str, Any]:
        """The version as a JSON-ready mapping."""
        # Not dataclasses.asdict(): it deep-copies, slow for every write.
        return {
            "path": self.path,
            "at": self.at,
            "why": self.why,
            "sha256": self.sha256,
            "size": self.size,
            "kept": self.kept,
        }


_IN_CHUNK = 500  # URLs per "IN (…)" query: well under SQLite's limit on parameters


class ArchiveIndex:
    """The SQLite index of one archive. Not thread-safe; one per process and archive.

    ``batch_size``/``batch_seconds`` bound how many rows wait for a commit.
    """

    def __init__(
        self,
        root: Path,
        *,
        batch_size: int = 100,
        batch_seconds: float = 2.0,
        read_only: bool = False,
    ) -> None:
        self.root = Path(root)
        self.state_dir = self.root / STATE_DIR
        self.path = self.state_dir / INDEX_NAME
        self.journal_path = self.state_dir / JOURNAL_NAME
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self._pending = 0
        self._open = False  # a transaction is open (it may hold version records alone)
        self._batch_started = 0.0
        # Called before each commit: what must be durable before the rows are (folder fsyncs).
        self.before_commit: Callable[[], None] | None = None
        self._closed = False
        self._journal: IO[str] | None = None
        if read_only:
            if self.path.is_file():
                self._db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
            else:  # no index yet: read as an empty one, and create nothing
                self._db = sqlite3.connect(":memory:")
                self._db.executescript(_SCHEMA)
            self._db.row_factory = sqlite3.Row
            self._knows_images = _has_column(self._db, "images")
            self._knows_versions = _has_table(self._db, "versions")
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        _add_missing_columns(self._db)
        self._knows_images = True
        self._knows_versions = True
        self._journal = open(self.journal_path, "a", encoding="utf-8")  # noqa: SIM115

    @classmethod
    def read_only(cls, root: Path) -> ArchiveIndex:
        """The index of the archive at ``root`` for reading only: nothing on disk is created
        or changed (the journal a killed run left stays for the next run to recover), and an
        archive without an index reads as an empty one."""
        return cls(root, read_only=True)

    # --- reading ------------------------------------------------------------------------------

    def get(self, url: str) -> IndexRow | None:
        """The row of ``url``, or None."""
        found = self._db.execute("SELECT * FROM articles WHERE url = ?", (url,)).fetchone()
        return IndexRow.from_record(found) if found is not None else None

    def get_many(self, urls: Iterable[str]) -> dict[str, IndexRow]:
        """The rows of those of ``urls`` the index has, by URL (a roll page's worth at once)."""
        wanted = list(dict.fromkeys(urls))
        found: dict[str, IndexRow] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            query = f"SELECT * FROM articles WHERE url IN ({marks})"
            for row in self._db.execute(query, chunk):
                found[row["url"]] = IndexRow.from_record(row)
        return found

    def find(self, url: str, docid: str | None) -> IndexRow | None:
        """The row of this article: the one of ``url``, else the one with its ``docid`` (the
        same article listed under another URL)."""
        row = self.get(url)
        if row is None and docid:
            found = self._db.execute(
                "SELECT * FROM articles WHERE docid = ? ORDER BY first_archived, url LIMIT 1",
                (docid,),
            ).fetchone()
            row = IndexRow.from_record(found) if found is not None else None
        return row

    def find_many(self, articles: Iterable[tuple[str, str | None]]) -> dict[str, IndexRow]:
        """:meth:`find` for many ``(url, docid)`` pairs at once, by the URL asked for."""
        wanted = dict(articles)
        found = self.get_many(wanted)
        docids = {docid: url for url, docid in wanted.items() if docid and url not in found}
        keys = list(docids)
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            query = (
                f"SELECT * FROM articles WHERE docid IN ({marks}) ORDER BY first_archived DESC, "
                "url DESC"
            )
            for row in self._db.execute(query, chunk):  # the earliest row comes last and wins
                found[docids[row["docid"]]] = IndexRow.from_record(row)
        return found

    def by_path(self, path: str) -> IndexRow | None:
        """The row that owns the post at ``path`` (relative), or None."""
        found = self._db.execute("SELECT * FROM articles WHERE path = ?", (path,)).fetchone()
        return IndexRow.from_record(found) if found is not None else None

    def rows(self, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[IndexRow]:
        """Rows matching an SQL condition on the ``articles`` columns, oldest listing first."""
        clause = f"WHERE {where}" if where else ""
        query = f"SELECT * FROM articles {clause} ORDER BY intime, url"
        for found in self._db.execute(query, params):
            yield IndexRow.from_record(found)

    def select(self, selection: Selection, now: datetime) -> Iterator[IndexRow]:
        """The rows a refresh selection picks."""
        where, params = selection.where(now)
        return self.rows(where, params)

    def count(self) -> int:
        """How many articles the index holds."""
        return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def pictures(self) -> dict[str, int]:
        """The pictures the live posts show, each with how many posts show it (from the
        ``images`` the index recorded; posts whose pictures it does not know are left out:
        :meth:`unrecorded_pictures`)."""
        if not self._knows_images:  # an earlier version's index, read only
            return {}
        query = (
            "SELECT picture.value, COUNT(*) FROM articles, json_each(articles.images) AS picture"
            " WHERE articles.status = ? AND articles.images IS NOT NULL GROUP BY picture.value"
        )
        return {str(url): int(n) for url, n in self._db.execute(query, (LIVE,))}

    def unrecorded_pictures(self) -> Iterator[IndexRow]:
        """The live posts whose pictures the index does not know (archived by a version that
        did not record them)."""
        if not self._knows_images:
            return self.rows("status = ?", (LIVE,))
        return self.rows("status = ? AND images IS NULL", (LIVE,))

    def counts_by_origin(self) -> dict[str, int]:
        """``{origin: n}``: ``crawl``, ``import``, ``adoption`` (rows without one are crawled)."""
        if not _has_column(self._db, "origin"):  # an earlier version's index, read only
            return {ORIGIN_CRAWL: self.count()} if self.count() else {}
        query = f"SELECT COALESCE(origin, '{ORIGIN_CRAWL}'), COUNT(*) FROM articles GROUP BY 1"
        return {str(origin): int(n) for origin, n in self._db.execute(query)}

    def near(
        self, folder: str, titles: Iterable[str], start: int, end: int, *, imported: bool
    ) -> IndexRow | None:
        """The row whose post is in ``folder`` (relative), with one of ``titles`` and its
        ``intime`` from ``start`` to ``end`` (unix seconds), the nearest to their middle when
        several are: with ``imported``, only rows of imported articles no crawl has adopted yet
        (their key starts with :data:`IMPORT_URL_PREFIX`); else only the others."""
        wanted = list(dict.fromkeys(titles))
        marks = ", ".join("?" * len(wanted))
        middle = (start + end) // 2
        which = "LIKE" if imported else "NOT LIKE"
        query = (
            f"SELECT * FROM articles WHERE url {which} '{IMPORT_URL_PREFIX}%'"
            f" AND title IN ({marks}) AND intime BETWEEN ? AND ? AND path LIKE ? ESCAPE '\\'"
            " ORDER BY ABS(intime - ?), url LIMIT 1"
        )
        prefix = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        found = self._db.execute(query, (*wanted, start, end, prefix, middle)).fetchone()
        return IndexRow.from_record(found) if found is not None else None

    def versions(self, path: str) -> list[VersionRow]:
        """The recorded versions of the post at ``path``, in the order they were recorded
        (none in an index of an earlier version)."""
        if not self._knows_versions:
            return []
        query = "SELECT * FROM versions WHERE path = ? ORDER BY rowid"
        return [VersionRow.from_record(found) for found in self._db.execute(query, (path,))]

    def counts_by_channel(self) -> dict[str, dict[str, int]]:
        """``{channel: {status: n}}``."""
        result: dict[str, dict[str, int]] = {}
        query = "SELECT channel, status, COUNT(*) FROM articles GROUP BY channel, status"
        for channel, status, n in self._db.execute(query):
            result.setdefault(channel, {})[status] = n
        return result

    # --- writing ------------------------------------------------------------------------------

    def journal(self, row: IndexRow, versions: Iterable[VersionRow] = ()) -> None:
        """Note ``row``, whose post was just written, and the ``versions`` that write made,
        until the batch holding them commits: one line, so that they are recovered together."""
        assert self._journal is not None, "a read-only index"
        record = row.to_record()
        kept = [version.to_record() for version in versions]
        if kept:
            record[_JOURNAL_VERSIONS] = kept
        self._journal.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._journal.flush()

    def put_version(self, version: VersionRow) -> bool:
        """Record ``version``; returns False when the index had it already, so that replaying
        a record changes nothing.

        * ``kept`` None (the post at ``path`` holds these bytes now): added unless the newest
          version of the post is already this one (same SHA-256, not replaced), or the post
          has a version with this SHA-256 written at the same ``at``.
        * ``kept`` set (these bytes were moved to that history file): the newest version of the
          post, when it has this SHA-256 and is not replaced, is marked as kept there;
          otherwise (a version no record names, e.g. a post written by an earlier release) it
          is added with what ``version`` says. Nothing when a version is already kept there.
        """
        newest = self._db.execute(
            "SELECT rowid, sha256, kept FROM versions WHERE path = ? ORDER BY rowid DESC LIMIT 1",
            (version.path,),
        ).fetchone()
        is_current = newest is not None and newest["kept"] is None
        if version.kept is None:
            if is_current and newest["sha256"] == version.sha256:
                return False
            if (
                version.at is not None
                and self._db.execute(
                    "SELECT 1 FROM versions WHERE path = ? AND at = ? AND sha256 = ?",
                    (version.path, version.at, version.sha256),
                ).fetchone()
            ):
                return False  # recorded before, and replaced since
        elif self._db.execute("SELECT 1 FROM versions WHERE kept = ?", (version.kept,)).fetchone():
            return False
        self._begin()
        if version.kept is not None and is_current and newest["sha256"] == version.sha256:
            self._db.execute(
                "UPDATE versions SET kept = ? WHERE rowid = ?", (version.kept, newest["rowid"])
            )
        else:
            self._db.execute(
                "INSERT INTO versions (path, at, why, sha256, size, kept) "
                "VALUES (:path, :at, :why, :sha256, :size, :kept)",
                version.to_record(),
            )
        self._after_write(counted=False)
        return True

    def put(self, row: IndexRow) -> None:
        """Insert or update ``row`` (``first_archived`` of an existing row is kept)."""
        self._begin()
        self._db.execute(_UPSERT, _sql_values(row))
        self._after_write()

    def delete(self, url: str) -> None:
        """Forget the row of ``url`` (its post, if any, is left alone)."""
        self._begin()
        self._db.execute("DELETE FROM articles WHERE url = ?", (url,))
        self._after_write()

    def rename(self, url: str, new_url: str) -> None:
        """Give the row of ``url`` the key ``new_url`` (which no row may hold)."""
        self._begin()
        self._db.execute("UPDATE articles SET url = ? WHERE url = ?", (new_url, url))
        self._after_write()

    def shared_paths(self) -> dict[str, list[IndexRow]]:
        """Posts that more than one row points at: ``{path: rows}``."""
        return self._shared("path")

    def shared_docids(self) -> dict[str, list[IndexRow]]:
        """Articles (docids) that more than one row holds: ``{docid: rows}``."""
        return self._shared("docid")

    def _shared(self, column: str) -> dict[str, list[IndexRow]]:
        query = (
            f"SELECT * FROM articles WHERE {column} IN (SELECT {column} FROM articles "
            f"WHERE {column} IS NOT NULL GROUP BY {column} HAVING COUNT(*) > 1) "
            f"ORDER BY {column}, url"
        )
        result: dict[str, list[IndexRow]] = {}
        for found in self._db.execute(query):
            result.setdefault(found[column], []).append(IndexRow.from_record(found))
        return result

    def uncanonical(self) -> list[IndexRow]:
        """Rows whose URL may not be canonical (a query, a fragment, not https): a cheap
        SQL filter; the caller decides."""
        query = (
            "SELECT * FROM articles WHERE url NOT LIKE 'https://%' OR instr(url, '?') > 0 "
            "OR instr(url, '#') > 0 ORDER BY url"
        )
        return [IndexRow.from_record(found) for found in self._db.execute(query)]

    def touch(self, url: str, **changes: Any) -> None:
        """Update some columns of an existing row (``last_checked``, ``status``, ``etag``…)."""
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown index columns: {sorted(unknown)}")
        self._begin()
        assignments = ", ".join(f"{name} = ?" for name in changes)
        self._db.execute(
            f"UPDATE articles SET {assignments} WHERE url = ?", [*changes.values(), url]
        )
        self._after_write()

    def _begin(self) -> None:
        if not self._open:
            self._db.execute("BEGIN")
            self._open = True
            self._batch_started = time.monotonic()

    def _after_write(self, *, counted: bool = True) -> None:
        """After a change in the open batch; a change not ``counted`` (a version record)
        rides with the rows and never commits the batch: the journal line that holds it also
        holds its row, which is put after it."""
        if not counted:
            return
        self._pending += 1
        if (
            self._pending >= self.batch_size
            or time.monotonic() - self._batch_started >= self.batch_seconds
        ):
            self.commit()

    def commit(self) -> None:
        """Commit the open batch and empty the journal (``before_commit`` is called first)."""
        if self._open:
            if self.before_commit is not None:
                self.before_commit()
            self._db.execute("COMMIT")
            self._open = False
            self._pending = 0
        if self._journal is not None:
            self._journal.truncate(0)
            self._journal.seek(0)

    def close(self) -> None:
        """Commit and close; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._journal is not None:
            self.commit()
            self._journal.close()
        self._db.close()

    # --- crash recovery -----------------------------------------------------------------------

    def recover(self, sha256_of: Any) -> int:
        """Replay the journal left by a run that did not commit: index every journaled row whose
        post is on disk with the journaled hash, and record every journaled version (one kept
        in history only when its file is there; a version recorded already is not again).
        ``sha256_of(path) -> str | None`` reads a file. Returns how many rows were recovered."""
        try:
            lines = self.journal_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return 0
        recovered = 0
        for line in lines:
            with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                record = json.loads(line)
                versions = [VersionRow.from_record(v) for v in record.pop(_JOURNAL_VERSIONS, [])]
                row = IndexRow.from_record(record)
                # A line is journaled once its write is done: its versions were all written,
                # even when a later write replaced the post (its own line says where to).
                for version in versions:
                    if version.kept is None or (self.root / version.kept).is_file():
                        self.put_version(version)
                if sha256_of(self.root / row.path) == row.sha256:
                    current = self.get(row.url)
                    if current is None or current.sha256 != row.sha256:
                        self.put(row)
                        recovered += 1
        self.commit()
        return recovered


def remove_stale_temp_files(root: Path, prefix: str, suffix: str) -> int:
    """Delete temp files a killed run left in the archive; returns how many."""
    removed = 0
    for tmp in root.rglob(f"{prefix}*{suffix}"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
            removed += 1
    return removed
