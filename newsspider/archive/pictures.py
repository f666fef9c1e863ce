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

import dataclasses
import hashlib
import html
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from newsspider.archive.body import is_markdown_content
from newsspider.archive.front_matter import split_post
from newsspider.archive.index import LIVE, STATE_DIR, ArchiveIndex, IndexRow
from newsspider.sina.urls import NotSinaUrl, trusted_url

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
    and it passes the trust rules of Sina URLs (:func:`~newsspider.sina.urls.trusted_url`);
    else :class:`NotPictureUrl`."""
    patterns = tuple(hosts)
    try:
        return trusted_url(url, lambda host: host_allowed(host, patterns))
    except NotSinaUrl as exc:
        raise NotPictureUrl(exc.reason, url) from None


# <img src="…"> as the HTML body modes serialize it (lxml and nh3 quote attributes with ").
_IMG_SRC = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"', re.I)
# ![alt](destination "title") as markdown bodies write a picture (newsspider.archive.markdown):
# the destination in <…>, or bare with backslash escapes and balanced parentheses. Text never
# matches: its `[`, `]`, `\\` and `<` are escaped.
_MARKDOWN_IMAGE = re.compile(
    r"!\[(?:[^\]\\\n]|\\.)*\]\("
    r"(?P<dest><(?:[^<>\\\n]|\\.)*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))+)"
    r'(?:\s+"(?:[^"\\\n]|\\.)*")?\)'
)
# In a markdown body a picture is either (raw HTML is left where Markdown has no syntax).
_ANY_IMAGE = re.compile(f"{_IMG_SRC.pattern}|{_MARKDOWN_IMAGE.pattern}", re.I)
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_PLAIN_DESTINATION = re.compile(r"[^\s()<>\\]+")


def _markdown_url(destination: str) -> str:
    """The URL a markdown image destination stands for (as its body's renderer reads it)."""
    if destination.startswith("<"):
        destination = destination[1:-1]
    url = _BACKSLASH_ESCAPE.sub(r"\1", destination)
    return url.replace("&#123;", "{").replace("&#125;", "}")


def _markdown_destination(url: str) -> str:
    """``url`` as a markdown image destination, braces escaped for Nunjucks."""
    if not _PLAIN_DESTINATION.fullmatch(url):
        url = "<" + re.sub(r"([<>\\])", r"\\\1", url) + ">"
    return url.replace("{", "&#123;").replace("}", "&#125;")


def _sources(body: str) -> Iterator[tuple[re.Match[str], int | str, str]]:
    """Each picture of ``body`` (post content): its match, the group holding its URL in the
    body, and the URL."""
    if not is_markdown_content(body):
        for match in _IMG_SRC.finditer(body):
            yield match, 1, html.unescape(match.group(1))
        return
    for match in _ANY_IMAGE.finditer(body):
        if match.group(1) is not None:
            yield match, 1, html.unescape(match.group(1))
        else:
            yield match, "dest", _markdown_url(match.group("dest"))


def post_images(body: str, headimg: str) -> tuple[str, ...]:
    """The pictures a post shows, each once, in order: ``headimg`` and every picture of its
    ``body`` (as rendered: absolute URLs): each ``<img src>``, and in a markdown body
    (:func:`~newsspider.archive.body.is_markdown_content`) each ``![alt](url)`` too; only
    http(s) URLs (a ``data:`` picture is in the post already)."""
    found = [headimg, *(url for _match, _group, url in _sources(body))]
    return tuple(dict.fromkeys(url for url in found if url.startswith(("https://", "http://"))))


def localize(
    body: str, headimg: str, stored: Mapping[str, str], url_prefix: str
) -> tuple[str, str]:
    """``body`` and ``headimg`` with each picture of ``stored`` (picture URL, as
    :func:`post_images` gives it, to its stored file's name) pointing at ``url_prefix`` + that
    name. Only the pictures' URLs (``<img src>``, ``![alt](url)`` in a markdown body) and
    ``headimg`` change; a picture not in ``stored`` keeps its URL, and text or a link that
    merely shows a URL is left alone."""
    out: list[str] = []
    done = 0
    for match, group, url in _sources(body):
        name = stored.get(url)
        if name is None:
            continue
        start, end = match.span(group)
        local = url_prefix + name
        written = html.escape(local) if group == 1 else _markdown_destination(local)
        out += [body[done:start], written]
        done = end
    local_head = url_prefix + stored[headimg] if headimg in stored else headimg
    return "".join([*out, body[done:]]), local_head


def images_of_post(data: bytes) -> tuple[str, ...]:
    """The pictures a post file on disk shows (:func:`post_images` of its ``headimg`` and
    body), for a post whose pictures the index did not record. A post whose front matter does
    not load is read as all body: its ``<img>`` tags are still found."""
    text = data.decode("utf-8", errors="replace")
    try:
        metadata, body = split_post(text)
    except ValueError:
        metadata, body = {}, text
    headimg = metadata.get("headimg")
    return post_images(body, headimg if isinstance(headimg, str) else "")


def unrecorded_post_images(
    index: ArchiveIndex, root: Path
) -> Iterator[tuple[IndexRow, tuple[str, ...]]]:
    """The live posts whose pictures ``index`` does not know (an index of an earlier version),
    each with the pictures read from its file (:func:`images_of_post`); a post not on disk is
    left out. The rows are read first, so the caller may write the index meanwhile."""
    for row in list(index.unrecorded_pictures()):
        try:
            data = (root / row.path).read_bytes()
        except OSError:
            continue
        yield row, images_of_post(data)


def record_post_pictures(index: ArchiveIndex, root: Path) -> int:
    """Record in ``index`` the pictures of the live posts whose pictures it does not know
    (:func:`unrecorded_post_images`); a post not on disk stays unknown. Returns how many posts
    were recorded. Runs once per archive: afterwards every post written records its pictures
    as it is written."""
    recorded = 0
    for row, images in unrecorded_post_images(index, root):
        index.put(dataclasses.replace(row, images=images))
        recorded += 1
    index.commit()
    return recorded


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

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        if read_only:
            if path.is_file():
                self._db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
                return
            self._db = sqlite3.connect(":memory:")  # no record yet: an empty one
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pictures ("
            " url TEXT PRIMARY KEY, status TEXT NOT NULL, name TEXT, reason TEXT,"
            " tried REAL NOT NULL)"
        )
        self._db.commit()

    @classmethod
    def read_only(cls, path: Path) -> PictureRecord:
        """The record at ``path`` for reading only (nothing is created; no file reads as an
        empty record)."""
        return cls(path, read_only=True)

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

    def _put(self, row: PictureRow) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO pictures (url, status, name, reason, tried)"
            " VALUES (?, ?, ?, ?, ?)",
            (row.url, row.status, row.name, row.reason, row.tried),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


NOT_TRIED = "not_tried"
FILE_GONE = "file_gone"


@dataclass(frozen=True)
class MissingPicture:
    """A picture the archive's posts show that is not stored: ``why`` is ``failed`` (with the
    ``reason`` of the last try), ``not_tried`` (no run fetched it yet) or ``file_gone`` (stored
    once, and its file is no longer there); ``posts``: how many posts show it."""

    url: str
    posts: int
    why: str
    reason: str | None = None


@dataclass(frozen=True)
class PictureCensus:
    """The pictures of an archive's live posts (see :func:`take_census`).

    ``referenced``: distinct picture URLs; ``stored``: those whose file is there;
    ``not_fetched``: those no run fetches, by reason (``off_site``, ``port``, …: a post keeps
    their URLs); ``missing``: the rest, each with why."""

    referenced: int
    stored: int
    not_fetched: dict[str, int]
    missing: tuple[MissingPicture, ...]

    @property
    def failing(self) -> tuple[MissingPicture, ...]:
        """The missing pictures whose last fetch failed."""
        return tuple(picture for picture in self.missing if picture.why == FAILED)


def take_census(
    referenced: Mapping[str, int], record: PictureRecord, folder: Path, hosts: Iterable[str]
) -> PictureCensus:
    """What becomes of each picture of ``referenced`` (URL to how many posts show it): stored
    (the record holds its file and the file is in ``folder``), not fetched (off the allow list
    ``hosts``, or against the URL rules), or missing. Missing pictures come in the order of
    ``referenced``."""
    hosts = tuple(hosts)
    stored = 0
    not_fetched: dict[str, int] = {}
    missing: list[MissingPicture] = []
    for url, posts in referenced.items():
        try:
            picture_url(url, hosts)
        except NotPictureUrl as exc:
            not_fetched[exc.reason] = not_fetched.get(exc.reason, 0) + 1
            continue
        row = record.get(url)
        if row is None:
            missing.append(MissingPicture(url, posts, NOT_TRIED))
        elif row.status != STORED or row.name is None:
            missing.append(MissingPicture(url, posts, FAILED, row.reason))
        elif not (folder / row.name).is_file():
            missing.append(MissingPicture(url, posts, FILE_GONE))
        else:
            stored += 1
    return PictureCensus(len(referenced), stored, not_fetched, tuple(missing))


@dataclass(frozen=True)
class ArchivePictures:
    """:func:`take_census` of a whole archive: ``posts`` live posts; ``read_from_files`` of
    them had no pictures in the index (an index of an earlier version, not yet opened for
    writing), so their files were read."""

    census: PictureCensus
    posts: int
    read_from_files: int


def archive_pictures(root: Path, folder: Path, hosts: Iterable[str]) -> ArchivePictures:
    """The census of the pictures the live posts of the archive at ``root`` show, with the
    pictures' folder ``folder`` and the allow list ``hosts``. Reads only: the index and the
    record are opened read-only, and nothing is created."""
    index = ArchiveIndex.read_only(root)
    record = PictureRecord.read_only(root / STATE_DIR / RECORD_NAME)
    try:
        referenced = index.pictures()
        read = 0
        for _row, images in unrecorded_post_images(index, root):
            read += 1
            for url in images:
                referenced[url] = referenced.get(url, 0) + 1
        posts = sum(n.get(LIVE, 0) for n in index.counts_by_channel().values())
        return ArchivePictures(take_census(referenced, record, folder, hosts), posts, read)
    finally:
        record.close()
        index.close()
