"""Items: what the spider yields (:class:`FetchedPage`), what the normalization pipeline makes
of it (:class:`ArticleItem`), and a re-check that brought no new page (:class:`ArticleCheck`).

All three are plain values (they pickle, so worker processes and the distributed mode's Redis
queue carry them) and are filled once, where they are made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from newsspider.sina.roll import RollEntry


@dataclass(frozen=True)
class FetchedPage:
    """An article page as the spider fetched it; no part of it is parsed yet.

    ``url`` is the URL the article is known by (its index row's, else its canonical URL);
    ``body`` the response bytes and ``encoding`` the encoding Scrapy read them with; ``entry``
    the roll item that listed it (None for ``-a urls``); ``etag``/``last_modified`` the
    response's validators, which the index keeps for conditional re-checks.
    """

    url: str
    channel: str
    docid: str | None
    entry: RollEntry | None
    body: bytes
    encoding: str
    etag: str | None = None
    last_modified: str | None = None


def _post_text(post: bytes) -> str:
    return post.decode("utf-8")


@dataclass(frozen=True)
class ArticleItem:
    """One article, ready for the archive: its post's fields and the post's bytes.

    Made by :func:`newsspider.post.build_post` in one piece. ``date`` is aware;
    ``listed_at``/``updated_at`` are the roll's ``intime``/``mtime`` (None without a roll
    entry); ``body`` is the post content after the front matter, ``post`` the whole file.
    ``images`` are the pictures the post shows (``headimg`` and every ``<img src>``, each
    once); with ``ARCHIVE_IMAGES=local``, ``remote_images`` are those of them the post shows
    from their remote URL though they are to be fetched (not stored when the post was made).
    ``template`` names the page template extraction used and ``found`` what it found, of
    ``title``, ``date``, ``source``, ``body`` and ``headimg``. ``post_path`` is where the archive
    writer put the post, relative to ``ARCHIVE_DIR`` (None until then: the writer passes on a
    copy that has it).
    """

    url: str
    channel: str
    docid: str | None
    title: str
    date: datetime
    categories: tuple[str, ...]
    author: str
    headimg: str
    images: tuple[str, ...]
    body: str
    # Feed exports (-O items.jsonl) carry the post as the UTF-8 text it is.
    post: bytes = field(repr=False, metadata={"serializer": _post_text})
    template: str
    found: tuple[str, ...] = ()
    listed_at: datetime | None = None
    updated_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    post_path: str | None = None
    remote_images: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArticleCheck:
    """A re-check of an archived article that brought no new content.

    ``status`` is ``unchanged`` (HTTP 304) or ``gone`` (404/410: the post is kept, the index
    marks it gone). ``updated_at`` is the roll ``mtime`` that prompted the check, if any.
    """

    url: str
    status: str
    etag: str | None = None
    last_modified: str | None = None
    updated_at: datetime | None = None
