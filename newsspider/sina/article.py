"""Extraction of Sina Finance article pages (the current finance template).

Template: ``h1.main-title``, ``.date-source .date``, ``.date-source .source``,
``div#artibody``; ``og:title``, ``og:url`` and ``article:published_time`` serve as fallbacks.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from parsel import Selector

from newsspider.sina.dates import parse_chinese, parse_iso

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ArticlePage:
    """What one article page says about itself. ``None`` where the page does not say."""

    title: str | None
    published_at: datetime | None
    displayed_at: datetime | None
    source: str | None
    canonical_url: str | None
    body_html: str | None


def _clean_text(parts: list[str]) -> str | None:
    text = _SPACES.sub(" ", "".join(parts)).strip()
    return text or None


def _meta(sel: Selector, prop: str) -> str | None:
    value = sel.xpath(f'//meta[@property="{prop}" or @name="{prop}"]/@content').get()
    return value.strip() or None if value is not None else None


def inner_html(element: etree._Element) -> str:
    """The markup inside ``element``: its leading text, then each child with its tail.

    lxml's own serializer keeps the markup lossless, so re-parsing the result gives the same tree.
    """
    parts = [html.escape(element.text or "", quote=False)]
    parts.extend(
        etree.tostring(child, method="html", encoding="unicode", with_tail=True)
        for child in element
    )
    return "".join(parts)


def extract_title(sel: Selector) -> str | None:
    """The headline: ``h1.main-title``, else ``og:title``."""
    return _clean_text(sel.css("h1.main-title ::text").getall()) or _meta(sel, "og:title")


def extract_body_html(sel: Selector) -> str | None:
    """The inner HTML of ``#artibody``, or None when the page has no such container."""
    found = sel.css("#artibody")
    if not found:
        return None
    return inner_html(found[0].root)


def parse_article(sel: Selector) -> ArticlePage:
    """Everything the archive needs from an article page of the current finance template."""
    date_source = sel.css(".date-source")
    source = _clean_text(date_source.css(".source ::text").getall()) or _meta(sel, "article:author")
    return ArticlePage(
        title=extract_title(sel),
        published_at=parse_iso(_meta(sel, "article:published_time")),
        displayed_at=parse_chinese(_clean_text(date_source.css(".date ::text").getall())),
        source=source,
        canonical_url=_meta(sel, "og:url"),
        body_html=extract_body_html(sel),
    )
