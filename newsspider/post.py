"""One article's work, as pure functions of plain values: from the fetched page to the post.

:func:`build_post` is the whole of it, in order: extraction (the page's template reads title,
dates, source and body: :mod:`newsspider.sina.article`), normalisation into the archive's front
matter (:func:`normalize`), the body in the ``ARCHIVE_BODY`` mode (:mod:`newsspider.archive.body`)
and the post's bytes (:func:`render_post`). Nothing here knows Scrapy: the normalization
pipeline runs :func:`build_post` in a worker process, once per article, and tests and offline
tools call it the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from newsspider.archive.body import BodyMode, post_content, render_body
from newsspider.archive.front_matter import Plain, Raw, render_front_matter
from newsspider.archive.pictures import localize, post_images
from newsspider.items import ArticleItem, FetchedPage
from newsspider.sina.article import ArticlePage, PageTooDeep, looks_like_article, read_article
from newsspider.sina.channels import get_channel
from newsspider.sina.dates import rfc1123

SITE_AUTHOR = "新浪财经"
"""``author:`` of every post with ``ARCHIVE_AUTHOR = site``."""

NOT_ARTICLE_PAGE = "not_article_page"
"""The drop reason of a page that no Sina template read and that does not look like the
article (:func:`newsspider.sina.article.looks_like_article`)."""


class AuthorMode(StrEnum):
    """Whose name goes into ``author:`` (setting ``ARCHIVE_AUTHOR``)."""

    SITE = "site"
    SOURCE = "source"


@dataclass(frozen=True)
class PostRules:
    """What the settings decide about a post: ``ARCHIVE_BODY`` and ``ARCHIVE_AUTHOR``."""

    body: BodyMode
    author: AuthorMode


@dataclass(frozen=True)
class Rejected:
    """Why a fetched page gives no post: ``reason`` (the ``sina/dropped/<reason>`` stat) and
    a line for the log. ``template`` is the template extraction used (None when the page could
    not be parsed) and ``found`` the fields it gave (``ArticlePage.found``)."""

    reason: str
    detail: str
    template: str | None = None
    found: tuple[str, ...] = ()


def _rejected(page: ArticlePage, reason: str, detail: str) -> Rejected:
    return Rejected(reason, detail, page.template, page.found)


@dataclass(frozen=True)
class FrontMatter:
    """The post fields :func:`normalize` decides."""

    title: str
    date: datetime
    categories: tuple[str, ...]
    author: str


def normalize(
    page: ArticlePage, fetched: FetchedPage, author: AuthorMode
) -> FrontMatter | Rejected:
    """The front matter of an article: ``title`` (the roll's, else the page's, trimmed),
    ``date`` (roll ``intime``, else ``article:published_time``, else the displayed date),
    ``categories`` from the channel, ``author`` per ``ARCHIVE_AUTHOR`` (the page's source, else
    the roll's ``media_name``, for ``source``).

    Rejects ``no_title``, ``no_date``, and ``not_article_page`` for a ``meta`` or ``generic``
    page that does not look like the article the roll listed (an error page, a wall, a channel
    page, another article; for ``-a urls``, a page without a title of its own or enough text).
    """
    entry = fetched.entry
    roll_title = entry.title if entry else None
    title = (roll_title or "").strip() or (page.title or "").strip()
    if not title:
        return _rejected(page, "no_title", "neither the roll nor the page has a title")
    why = looks_like_article(page, roll_title)
    if why is not None:
        return _rejected(page, NOT_ARTICLE_PAGE, why)
    date = (entry.intime if entry else None) or page.published_at or page.displayed_at
    if date is None:
        return _rejected(page, "no_date", "no roll time and no date on the page")
    source = (page.source or (entry.media_name if entry else None) or "").strip()
    return FrontMatter(
        title=title,
        date=date,
        categories=tuple(get_channel(fetched.channel).categories),
        author=source if author is AuthorMode.SOURCE and source else SITE_AUTHOR,
    )


def render_post(front: FrontMatter, headimg: str, body: str) -> bytes:
    """The whole post, in the archive's exact format (UTF-8): the front matter, then ``body``
    (the content :func:`newsspider.archive.body.post_content` wraps)."""
    metadata = {
        "title": front.title,
        "categories": list(front.categories),
        "headimg": headimg,
        "author": Plain(front.author),
        "comments": False,
        "date": Raw(rfc1123(front.date)),
        "thumbnail": headimg,
    }
    return render_front_matter(metadata, body).encode("utf-8")


def with_local_pictures(
    item: ArticleItem, stored: Mapping[str, str], url_prefix: str
) -> ArticleItem:
    """``item`` whose post shows the pictures of ``stored`` from ``url_prefix``
    (:func:`localize`): ``body``, ``headimg`` (and so ``thumbnail``) and the post's bytes, which
    are rendered again. ``images`` keeps the pictures' own URLs. ``item`` itself when no picture
    of its post is stored."""
    if not any(url in stored for url in item.images):
        return item
    body, headimg = localize(item.body, item.headimg, stored, url_prefix)
    front = FrontMatter(item.title, item.date, item.categories, item.author)
    return dataclasses.replace(
        item, body=body, headimg=headimg, post=render_post(front, headimg, body)
    )


def build_post(fetched: FetchedPage, rules: PostRules) -> ArticleItem | Rejected:
    """The archive item of one fetched article page, or why there is none.

    Besides :func:`normalize`'s reasons, rejects ``too_deep`` (a page nested deeper than the
    parser follows: parsed, it would lose text) and ``no_body`` (no article container, or
    nothing in it). Pure; picklable arguments and result (worker processes run it).
    """
    try:
        page = read_article(fetched.body, fetched.encoding)
    except PageTooDeep as exc:
        return Rejected("too_deep", str(exc))
    front = normalize(page, fetched, rules.author)
    if isinstance(front, Rejected):
        return front
    if page.body_html is None:
        return _rejected(page, "no_body", "the page has no article body")
    rendered = render_body(page.body_html, fetched.url, rules.body)
    if rendered is None:
        return _rejected(page, "no_body", "the article body is empty")
    body = post_content(rendered.html, rules.body)
    entry = fetched.entry
    return ArticleItem(
        url=fetched.url,
        channel=fetched.channel,
        docid=fetched.docid,
        title=front.title,
        date=front.date,
        categories=front.categories,
        author=front.author,
        headimg=rendered.headimg,
        images=post_images(body, rendered.headimg),
        body=body,
        post=render_post(front, rendered.headimg, body),
        template=page.template,
        found=(*page.found, "headimg") if rendered.headimg else page.found,
        listed_at=entry.intime if entry else None,
        updated_at=entry.mtime if entry else None,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        capture=fetched.capture,
    )
