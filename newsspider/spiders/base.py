"""What every newsspider spider does with an article page: fetch it (conditionally when it is
already archived), route the answer, count what goes wrong."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import cached_property
from typing import Any, ClassVar, TypeGuard

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import load_object
from twisted.python.failure import Failure

from newsspider.archive.index import GONE, IndexRow
from newsspider.config import Config, ImagesMode
from newsspider.extensions.outcomes import ArticleOutcomes
from newsspider.failures import Refused, describe_failure
from newsspider.items import ArticleCheck, FetchedPage
from newsspider.sina.roll import RollEntry
from newsspider.sina.urls import (
    SINA_DOMAINS,
    NotSinaUrl,
    article_docid,
    canonical_article_url,
    docid_from_url,
    non_article_reason,
)
from newsspider.stats import dropped

logger = logging.getLogger(__name__)

DEAD_STATUSES = (404, 410)
NOT_MODIFIED = 304
_PAGE_END = re.compile(rb"</(?:body|html)\s*>", re.I)
_TAIL_BYTES = 16 * 1024


def is_html(response: Response) -> TypeGuard[TextResponse]:
    """True for a text response whose declared type, if any, is HTML."""
    if not isinstance(response, TextResponse):
        return False
    declared = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    return not declared or declared in (b"text/html", b"application/xhtml+xml")


def is_complete_html(body: bytes) -> bool:
    """False when the page never closes ``<body>`` or ``<html>``: a cut-off download.

    (Some Sina pages put scripts after ``</html>``, so the whole page is searched; the end
    first, where the closing tags nearly always are.)
    """
    tail = max(0, len(body) - _TAIL_BYTES)
    return _PAGE_END.search(body, tail) is not None or _PAGE_END.search(body) is not None


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def conditional_headers(row: IndexRow | None) -> dict[str, str]:
    """``If-None-Match``/``If-Modified-Since`` from what the index remembers of the page."""
    headers: dict[str, str] = {}
    if row is not None and row.etag:
        headers["If-None-Match"] = row.etag
    if row is not None and row.last_modified:
        headers["If-Modified-Since"] = row.last_modified
    return headers


def _redirected_elsewhere(response: Response, url: str, entry: RollEntry | None) -> str | None:
    """Why the page a redirect ended on is not the article asked for (a home or channel
    page, another article), or None when it is (or there was no redirect)."""
    if not response.meta.get("redirect_urls"):
        return None
    if non_article_reason(response.url) is not None:
        return f"redirected to {response.url}, which is not an article"
    expected = article_docid(url, entry.docid if entry else None)
    landed = docid_from_url(response.url)
    if expected is not None and landed is not None and landed != expected:
        return f"redirected to {response.url}, another article"
    return None


class ArticleSpider(scrapy.Spider):
    """Base for spiders that archive Sina articles. Subclasses decide what to fetch.

    An article is its docid: the same docid under several URLs (Sina lists one article under
    several paths and channels) is fetched once per run, and found in the index whichever URL
    archived it.
    """

    # Scrapy's offsite middleware as one more layer: every URL is checked before it becomes a
    # request, and the download handler refuses any other host whatever produced the request.
    allowed_domains: ClassVar[list[str]] = list(SINA_DOMAINS)

    def __init__(self, **kwargs: Any) -> None:
        self.arguments = {k: str(v) for k, v in kwargs.items()}  # for the run report
        super().__init__(**kwargs)
        self._seen: set[str] = set()
        self._seen_docids: set[str] = set()

    @cached_property
    def outcomes(self) -> ArticleOutcomes:
        """Where articles that are not archived are counted and logged."""
        return ArticleOutcomes.of(self.crawler)

    @cached_property
    def known(self) -> Any:
        """What is archived: the backend ``ARCHIVE_KNOWLEDGE`` names (the crawl's archive
        index, shared with the archive writer, unless an add-on puts another in its place)."""
        backend = load_object(Config.of(self.crawler).archive.knowledge)
        return backend.for_crawler(self.crawler)

    def stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats

    @cached_property
    def _local_pictures(self) -> bool:
        return Config.of(self.crawler).images.mode is ImagesMode.LOCAL

    def _shows_remote_pictures(self, known: IndexRow | None) -> bool:
        """True when the post of ``known`` shows pictures from their remote URLs that a run with
        ``ARCHIVE_IMAGES=local`` (this one) may have stored since it was written."""
        return known is not None and bool(known.remote_images) and self._local_pictures

    def article_request(
        self, url: str, channel: str, entry: RollEntry | None, known: IndexRow | None = None
    ) -> scrapy.Request | None:
        """The request for an article, or None (counted) for a duplicate, a non-article or a
        URL that is not Sina's.

        The request goes to the article's canonical URL. Callbacks get the URL the article is
        known by: the index row's when the index knows it (under this URL or its docid), else
        the canonical one. An article the index knows is asked for conditionally: a 304 costs
        no parsing.
        """
        try:
            url = canonical_article_url(url)
        except NotSinaUrl as exc:
            self.outcomes.dropped(str(url), "off_site_url", f"not a Sina URL ({exc.reason})")
            return None
        reason = non_article_reason(url)
        if reason is not None:
            self.outcomes.dropped(url, reason, f"{reason} (video, slides, live or a front page)")
            return None
        docid = article_docid(url, entry.docid if entry else None)
        if url in self._seen or (docid is not None and docid in self._seen_docids):
            self.stats().inc_value(dropped("duplicate"))  # the same article, already asked
            return None
        self._seen.add(url)
        if docid is not None:
            self._seen_docids.add(docid)
        return scrapy.Request(
            url,
            # Known articles are re-checked on purpose; in the distributed mode the shared
            # seen-request set keeps two workers from fetching one new article.
            dont_filter=known is not None,
            headers={} if self._shows_remote_pictures(known) else conditional_headers(known),
            callback=self.parse_article,
            errback=self.on_article_error,
            cb_kwargs={"url": known.url if known else url, "channel": channel, "entry": entry},
            meta={"handle_httpstatus_list": [NOT_MODIFIED]} if known else {},
        )

    def parse_article(
        self, response: Response, url: str, channel: str, entry: RollEntry | None
    ) -> Iterator[FetchedPage | ArticleCheck]:
        """The fetched page, for the normalization pipeline to make a post of; an
        :class:`ArticleCheck` for a 304; nothing (counted) for a page that is not the article's
        HTML. Nothing of the page is parsed here."""
        if response.status == NOT_MODIFIED:
            yield ArticleCheck(
                url,
                "unchanged",
                _header(response, b"ETag"),
                _header(response, b"Last-Modified"),
                entry.mtime if entry else None,
            )
            return
        elsewhere = _redirected_elsewhere(response, url, entry)
        if elsewhere is not None:
            self.outcomes.dropped(url, "not_article_page", elsewhere)
            return
        if not is_html(response):
            self.outcomes.dropped(url, "not_html", "not an HTML page")
            return
        if not is_complete_html(response.body):
            self.outcomes.dropped(url, "truncated", "the page is truncated (no </body> or </html>)")
            return
        yield FetchedPage(
            url=url,
            channel=channel,
            docid=article_docid(url, entry.docid if entry else None),
            entry=entry,
            body=response.body,
            encoding=response.encoding,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
        )

    def on_article_error(self, failure: Failure) -> Iterator[ArticleCheck]:
        """One log line and a counted reason per failed article; no traceback.

        A 404/410 is a dead link; for an archived article it marks the article gone (its post
        is kept).
        """
        info = describe_failure(failure)
        request = failure.request  # type: ignore[attr-defined]
        url = request.cb_kwargs.get("url", request.url)
        if isinstance(failure.value, HttpError) and info.status in DEAD_STATUSES:
            if self.known.get(url) is not None:
                yield ArticleCheck(url, GONE)
                return
            self.outcomes.dropped(url, "dead_link", f"dead link ({info.message})")
            return
        if isinstance(failure.value, Refused):
            self.outcomes.dropped(url, info.reason, info.message)
            return
        self.outcomes.failed(url, info.reason, info.message)
