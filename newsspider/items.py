"""Items: what the spider yields and the pipelines complete."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from newsspider.sina.article import ArticlePage
from newsspider.sina.roll import RollEntry
from newsspider.sina.urls import docid_from_url


@dataclass
class ArticleItem:
    """One Sina article on its way into the archive.

    The spider fills the first group from the roll item and the page; the pipelines fill the
    post fields. Missing values are ``None``; times are aware datetimes.
    """

    url: str
    channel: str
    docid: str | None
    roll_title: str | None
    page_title: str | None
    listed_at: datetime | None
    updated_at: datetime | None
    published_at: datetime | None
    displayed_at: datetime | None
    source: str | None
    body_html: str | None
    template: str | None = None  # the page template extraction matched (finance, news, …)
    # What the page gave: of title, date, source, body (ArticlePage.found), and for the meta
    # and generic templates what looks_like_article weighs (ArticlePage has the contract).
    found: list[str] = field(default_factory=list)
    headlines: list[str] = field(default_factory=list)
    text_chars: int | None = None
    page_kind: str | None = None
    etag: str | None = None  # validators of the page response, for conditional re-checks
    last_modified: str | None = None
    # Post fields, set by the pipelines.
    title: str | None = None
    date: datetime | None = None
    categories: list[str] = field(default_factory=list)
    author: str | None = None
    comments: bool = False
    headimg: str = ""
    body: str | None = None
    post_path: str | None = None


@dataclass
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


def article_item(
    page: ArticlePage, channel: str, url: str, entry: RollEntry | None = None
) -> ArticleItem:
    """The item for one fetched article page; ``entry`` is its roll item, when the roll listed it.

    ``url`` is the canonical URL the article was requested under.
    """
    return ArticleItem(
        url=url,
        channel=channel,
        docid=entry.docid if entry and entry.docid else docid_from_url(url),
        roll_title=entry.title if entry else None,
        page_title=page.title,
        listed_at=entry.intime if entry else None,
        updated_at=entry.mtime if entry else None,
        published_at=page.published_at,
        displayed_at=page.displayed_at,
        source=page.source or (entry.media_name if entry else None),
        body_html=page.body_html,
        template=page.template,
        found=list(page.found),
        headlines=list(page.headlines),
        text_chars=page.text_chars,
        page_kind=page.page_kind,
    )
