"""What was imported into an archive: ``ARCHIVE_DIR/.newsspider/imports.sqlite3``.

One row per imported article (its index key, post path, channel, the span of its dates and the
time of the version its post holds), the body fingerprints and titles that identify it, and one
row per version imported (with the source path and commit it came from). An import asks it
which article a scanned one is (the same identity rule as within one import) and which of its
versions are in the archive already, so a second import changes nothing and a second archive
merges into the first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsspider.archive.index import STATE_DIR

LEDGER_NAME = "imports.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    key TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    path TEXT NOT NULL,
    low INTEGER NOT NULL,
    high INTEGER NOT NULL,
    post_time INTEGER
);
CREATE TABLE IF NOT EXISTS fingerprints (
    channel TEXT NOT NULL, fingerprint TEXT NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY (channel, fingerprint, key)
);
CREATE TABLE IF NOT EXISTS titles (
    channel TEXT NOT NULL, title TEXT NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY (channel, title, key)
);
CREATE TABLE IF NOT EXISTS versions (
    key TEXT NOT NULL, version TEXT NOT NULL, source TEXT NOT NULL, path TEXT NOT NULL,
    commit_id TEXT, time INTEGER NOT NULL,
    PRIMARY KEY (key, version)
);
"""


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass(frozen=True)
class LedgerArticle:
    """An imported article: its key, post path, versions and the time of its post's version."""

    key: str
    path: str
    versions: frozenset[str]
    post_time: datetime


class ImportLedger:
    """The ledger of one archive (see the module docstring). ``read_only``: nothing is created
    or changed (``--dry-run``); an archive without a ledger reads as an empty one."""

    def __init__(self, root: Path, *, read_only: bool = False) -> None:
        path = root / STATE_DIR / LEDGER_NAME
        if read_only:
            if path.is_file():
                self._db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            else:
                self._db = sqlite3.connect(":memory:")
                self._db.executescript(_SCHEMA)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        self.read_only = read_only
        self._pending = 0

    def find(
        self,
        channel: str,
        fingerprints: Iterable[str],
        titles: Iterable[str],
        low: datetime,
        high: datetime,
        window: timedelta,
    ) -> LedgerArticle | None:
        """The imported article that is this one: the same channel and body fingerprint with
        the same title or dates within ``window``, or the same title with dates within
        ``window``."""
        start, end = _unix(low - window), _unix(high + window)
        titles = list(titles)
        for fingerprint in sorted(fingerprints):
            for (key,) in self._db.execute(
                "SELECT key FROM fingerprints WHERE channel = ? AND fingerprint = ? ORDER BY key",
                (channel, fingerprint),
            ):
                if self._has_title(key, titles) or self._near(key, start, end):
                    return self._article(key)
        for title in sorted(titles):
            for (key,) in self._db.execute(
                "SELECT key FROM titles WHERE channel = ? AND title = ? ORDER BY key",
                (channel, title),
            ):
                if self._near(key, start, end):
                    return self._article(key)
        return None

    def _has_title(self, key: str, titles: list[str]) -> bool:
        marks = ", ".join("?" * len(titles))
        query = f"SELECT 1 FROM titles WHERE key = ? AND title IN ({marks}) LIMIT 1"
        return self._db.execute(query, (key, *titles)).fetchone() is not None

    def _near(self, key: str, start: int, end: int) -> bool:
        query = "SELECT 1 FROM articles WHERE key = ? AND high >= ? AND low <= ?"
        return self._db.execute(query, (key, start, end)).fetchone() is not None

    def _article(self, key: str) -> LedgerArticle:
        path, post_time = self._db.execute(
            "SELECT path, post_time FROM articles WHERE key = ?", (key,)
        ).fetchone()
        versions = frozenset(
            version
            for (version,) in self._db.execute("SELECT version FROM versions WHERE key = ?", (key,))
        )
        moment = datetime.fromtimestamp(post_time if post_time is not None else 0, UTC)
        return LedgerArticle(key, path, versions, moment)

    def record(
        self,
        *,
        key: str,
        channel: str,
        path: str,
        titles: Iterable[str],
        fingerprints: Iterable[str],
        low: datetime,
        high: datetime,
        post_time: datetime | None,
        versions: Iterable[tuple[str, str, str | None, datetime]],
        source: str,
    ) -> None:
        """Record an article imported (or more of its versions): ``versions`` are ``(version,
        source path, commit, time)``; ``post_time`` the time of the version its post now holds
        (None: the post did not change)."""
        if self.read_only:
            return
        if self._pending == 0:
            self._db.execute("BEGIN")
        db = self._db
        db.execute(
            "INSERT INTO articles (key, channel, path, low, high, post_time) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "low = MIN(low, excluded.low), high = MAX(high, excluded.high), "
            "post_time = COALESCE(excluded.post_time, post_time)",
            (
                key,
                channel,
                path,
                _unix(low),
                _unix(high),
                _unix(post_time) if post_time else None,
            ),
        )
        db.executemany(
            "INSERT OR IGNORE INTO fingerprints VALUES (?, ?, ?)",
            [(channel, fingerprint, key) for fingerprint in fingerprints],
        )
        db.executemany(
            "INSERT OR IGNORE INTO titles VALUES (?, ?, ?)",
            [(channel, title, key) for title in titles],
        )
        db.executemany(
            "INSERT OR IGNORE INTO versions VALUES (?, ?, ?, ?, ?, ?)",
            [
                (key, version, source, where, commit, _unix(moment))
                for version, where, commit, moment in versions
            ],
        )
        self._pending += 1

    @property
    def pending(self) -> int:
        """Articles recorded since the last commit."""
        return self._pending

    def commit(self) -> None:
        """Commit what was recorded (the importer commits the archive's index first, so the
        ledger never names a version the index has not got)."""
        if self._pending:
            self._db.execute("COMMIT")
            self._pending = 0

    def close(self) -> None:
        """Commit and close."""
        self.commit()
        self._db.close()
