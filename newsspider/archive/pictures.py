"""The pictures of the archive: which may be fetched, what they are, where they are kept, and the
record of what is stored.

* A picture URL is fetched only under the trust rules of Sina URLs
  (:func:`~newsspider.sina.urls.sina_url`: no user info, no port, no IP address or odd host,
  http(s) only), and only from a host on the allow list (``ARCHIVE_IMAGES_HOSTS``).
* A picture is what its bytes say: JPEG, PNG, GIF or WebP by their magic numbers. SVG is not
  kept: it is a document that can carry scripts, and the site would serve it as its own.
* A stored picture is named by its content, ``<sha256[:2]>/<sha256>.<ext>``, so the same picture
  shown by many posts is stored once.
* :class:`PictureRecord` remembers, per URL, the file it gave or why it failed, in
  ``ARCHIVE_DIR/.newsspider/pictures.sqlite3``: a URL stored is never fetched again, and a URL
  not stored is tried again by the next run.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import safe_url_string

from newsspider.sina.urls import NotSinaUrl, sina_url

RECORD_NAME = "pictures.sqlite3"
PICTURE_META = "archive_images_picture"
"""The request meta key that marks a picture request: the download handler lets it through to
the picture hosts (and only it), and sends it without a ``Referer``."""


class NotPictureUrl(ValueError):
    """A picture URL that is not fetched; ``reason`` is a short stats key part (``off_site``,
    ``userinfo``, ``port``, ``bad_host``, ``bad_scheme``, ``not_a_url``)."""

    def __init__(self, reason: str, url: object) -> None:
        super().__init__(f"{reason}: {url!r}")
        self.reason = reason


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """True when ``host`` (lower case, no trailing dot) is one of ``patterns``: a name matches
    itself, ``*.domain`` every subdomain of ``domain`` (not ``domain`` itself)."""
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def picture_url(url: object, hosts: Iterable[str]) -> str:
    """``url`` exactly as Scrapy will request it, when its host is on the allow list ``hosts``
    and it passes the trust rules of Sina URLs; else :class:`NotPictureUrl`."""
    try:
        checked = sina_url(url)
    except NotSinaUrl as exc:
        # sina_url checks the host's domain last: an off-site URL passed every other rule.
        if exc.reason != "off_site":
            raise NotPictureUrl(exc.reason, url) from None
        assert isinstance(url, str)
        parts = urlsplit(safe_url_string(url.strip()))
        host = (parts.hostname or "").rstrip(".")
        checked = urlunsplit(
            (parts.scheme.lower(), host, parts.path or "/", parts.query, parts.fragment)
        )
    host = urlsplit(checked).hostname or ""
    if not host_allowed(host, hosts):
        raise NotPictureUrl("off_site", url)
    return checked


def sniff_image(data: bytes) -> str | None:
    """The file extension of the picture ``data`` holds, by its magic number (``jpg``, ``png``,
    ``gif``, ``webp``), or None when it is none of these."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def content_name(data: bytes, ext: str) -> str:
    """Where the picture ``data`` is stored, relative to the pictures' folder:
    ``<sha256[:2]>/<sha256>.<ext>`` (two-letter folders keep each folder small)."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}.{ext}"


STORED = "stored"
FAILED = "failed"


@dataclass(frozen=True)
class PictureRow:
    """What the record knows of one picture URL: ``name`` (its file, when ``status`` is
    ``stored``) or ``reason`` (why it failed), and when it was last tried (Unix time)."""

    url: str
    status: str
    name: str | None
    reason: str | None
    tried: float


class PictureRecord:
    """The record of picture URLs: stored (with their file name) or failed (with why).

    One SQLite file, opened by one owner for a crawl and closed by it; every change is
    committed at once (a few rows per post: the cost is small next to the fetch).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pictures ("
            " url TEXT PRIMARY KEY, status TEXT NOT NULL, name TEXT, reason TEXT,"
            " tried REAL NOT NULL)"
        )
        self._db.commit()

    def get(self, url: str) -> PictureRow | None:
        row = self._db.execute(
            "SELECT url, status, name, reason, tried FROM pictures WHERE url = ?", (url,)
        ).fetchone()
        return PictureRow(*row) if row else None

    def stored(self, url: str, name: str) -> None:
        self._put(PictureRow(url, STORED, name, None, time.time()))

    def failed(self, url: str, reason: str) -> None:
        """Record a failure; a URL stored before keeps its file (a failed re-fetch is no loss)."""
        known = self.get(url)
        if known is not None and known.status == STORED:
            return
        self._put(PictureRow(url, FAILED, None, reason, time.time()))

    def missing(self) -> Iterator[PictureRow]:
        """The URLs tried and not stored, oldest try first."""
        rows = self._db.execute(
            "SELECT url, status, name, reason, tried FROM pictures WHERE status != ?"
            " ORDER BY tried",
            (STORED,),
        ).fetchall()
        return (PictureRow(*row) for row in rows)

    def counts(self) -> dict[str, int]:
        """Rows by status."""
        rows = self._db.execute("SELECT status, COUNT(*) FROM pictures GROUP BY status")
        return {status: int(count) for status, count in rows}

    def _put(self, row: PictureRow) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO pictures (url, status, name, reason, tried)"
            " VALUES (?, ?, ?, ?, ?)",
            (row.url, row.status, row.name, row.reason, row.tried),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
