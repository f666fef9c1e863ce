"""Extraction of Sina article pages: pick the page's template, read it, fall back gracefully.

Templates (:func:`detect_template` gives the order it tries them in):

``finance``
    finance.sina.com.cn 2017+: ``h1.main-title``, ``.date-source .date``, ``.date-source .source``,
    ``div#artibody``. Also any ``#artibody`` page without the legacy markers.
``legacy``
    finance.sina.com.cn 2014–2016: ``h1#artibodyTitle``, ``span.time-source`` (the date, then the
    source) or ``#pub_date`` + ``#media_name``, ``div#artibody``.
``news``
    news.sina.com.cn: ``h1.main-title``, ``.date-source``, ``div#article`` (the author line
    ``p.show_author`` stays in the body and out of ``source``).
``mobile``
    finance.sina.cn: ``h1.art_tit_h1``, ``h2.weibo_user``, ``time.weibo_time``,
    ``section.art_pic_card.art_content``.
``meta``
    no known container, but ``og:title`` and ``article:published_time``: title and time from the
    meta tags, the body from the generic extractor.
``generic``
    anything else: the body is the main text trafilatura finds, the title the first ``<h1>``,
    ``og:title`` or ``<title>``.

The four Sina templates take the body from their own container only: a page with Sina headline
markup but no body container is a broken page of that template (``body_html`` None, so the crawl
drops and counts it), never a ``meta`` or ``generic`` one. Every template falls back to
``og:title`` for the title, ``article:author`` for the source and the displayed date for
``published_at``.

Whether a ``meta`` or ``generic`` result is the article at all (and not an error page, a login
or captcha wall, a channel front page, or another article) is :func:`looks_like_article`'s
call. A page nested deeper than the parser can follow raises :class:`PageTooDeep` from
:func:`page_root` rather than come out with its text silently cut off.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from functools import cache
from typing import Any, Final, Literal, Protocol, cast

import lxml.html
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator
from w3lib.encoding import html_to_unicode, http_content_type_encoding, read_bom

from newsspider.sina.dates import parse_chinese, parse_iso

logger = logging.getLogger(__name__)

TemplateName = Literal["finance", "news", "legacy", "mobile", "meta", "generic"]
TEMPLATES: Final[tuple[TemplateName, ...]] = (
    "finance",
    "news",
    "legacy",
    "mobile",
    "meta",
    "generic",
)
"""Every template name."""

FALLBACK_TEMPLATES: Final[frozenset[str]] = frozenset({"meta", "generic"})
"""Templates that read no Sina markup: their result has to pass :func:`looks_like_article`."""

MIN_GENERIC_CHARS: Final = 50
"""Fewer non-space characters than this in the generic extraction means "no article body"."""

MIN_ARTICLE_CHARS: Final = 100
"""A ``meta`` or ``generic`` body with fewer non-space characters than this is not taken for an
article. Sina's shortest articles (one-paragraph statistics releases) have about 130; its error
pages and walls under 70."""

TITLE_SIMILARITY: Final = 0.8
"""Two titles whose :func:`title_key` forms have a difflib ratio at least this high match."""

MIN_CONTAINED_TITLE: Final = 8
"""A title contained in another matches it when it has at least this many key characters."""

MAX_LINK_SHARE: Final = 0.5
"""A ``meta`` or ``generic`` body whose text is at least this share link text is a list of
headlines (a home or channel page). Real articles stay under 0.35, even read by trafilatura."""

SHORT_PAGE_CHARS: Final = 400
"""A page with less visible text than this is checked for wall and error wording in its text,
not only in its headlines (an article's own text may well say 验证码 or 登录)."""

PageKind = Literal["error", "login", "captcha", "index"]
PAGE_KINDS: Final[dict[str, str]] = {
    "error": "a Sina error page (页面不存在, 页面没有找到)",
    "login": "a login wall",
    "captcha": "a captcha wall",
    "index": "a home or channel page (a list of headlines)",
}
"""What :attr:`ArticlePage.page_kind` can be, and how a log line says it."""

_SPACES = re.compile(r"\s+")
_LEGACY_MARKERS = "h1#artibodyTitle, .time-source, #pub_date"
# "2016年05月25日10:10" at the start of span.time-source; what follows is the source.
_LEADING_CN_DATE = re.compile(
    r"^\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*(?:\d{1,2}\s*:\s*\d{2}(?:\s*:\s*\d{2})?)?"
)
# "2005.08.26 05:39" on finance.sina.cn, rewritten as "2005年08月26日 05:39" for parse_chinese.
_NUMERIC_DATE = re.compile(r"(\d{4})[./-](\d{1,2})[./-](\d{1,2})")
_VISIBLE_TEXT = "//body//text()[not(ancestor::script) and not(ancestor::style)]"
# Wording that only error pages and walls put in their headlines (or, on a short page, text).
_ERROR_WORDS = (
    "页面不存在",
    "页面没有找到",
    "页面未找到",
    "找不到页面",
    "文章不存在",
    "文章已删除",
    "404 not found",
    "404错误",
)
_CAPTCHA_WORDS = ("访问验证", "安全验证", "人机验证", "验证码", "访问过于频繁")
_LOGIN_WORDS = ("通行证", "登录", "登入")
# Separators between the headline and the site name in a <title>: 标题_新浪财经_新浪网.
_TITLE_SEPARATORS = re.compile(r"\s*[_|｜]\s*")


@dataclass(frozen=True)
class ArticlePage:
    """What one article page says about itself. ``None`` where the page does not say.

    ``published_at`` is ``article:published_time``, else ``displayed_at``; both are aware.
    ``body_html`` is the inner HTML of the template's body container (lossless), or for the
    ``meta`` and ``generic`` templates the main text trafilatura found, as an HTML fragment.
    ``template`` names the template that matched (one of :data:`TEMPLATES`).

    For the ``meta`` and ``generic`` templates only (empty or None for the Sina ones, whose
    markup says what the page is), what :func:`looks_like_article` weighs: ``headlines``, the
    page's own titles (each ``<h1>``, ``og:title``, ``<title>`` and its part before the site
    name); ``text_chars``, the non-space characters of the body's text (0 without a body);
    ``page_kind``, one of :data:`PAGE_KINDS` when the page shows itself to be no article.
    """

    title: str | None
    published_at: datetime | None
    displayed_at: datetime | None
    source: str | None
    body_html: str | None
    template: str = "finance"
    headlines: tuple[str, ...] = ()
    text_chars: int | None = None
    page_kind: str | None = None

    @property
    def found(self) -> tuple[str, ...]:
        """The fields the page gave, of ``title``, ``date``, ``source``, ``body``."""
        given = {
            "title": self.title,
            "date": self.published_at or self.displayed_at,
            "source": self.source,
            "body": self.body_html,
        }
        return tuple(name for name, value in given.items() if value)


@dataclass(frozen=True)
class _Visible:
    """What a template reads from the page itself; meta tags fill the gaps afterwards."""

    title: str | None
    displayed_at: datetime | None
    source: str | None
    body_html: str | None
    text_chars: int | None = None  # the generic body's text and link text (meta and generic)
    link_chars: int = 0


class PageTooDeep(ValueError):
    """The page nests elements deeper than the parser follows: what lies deeper is lost, so the
    page cannot be read whole. Picklable, so it reaches the crawl from a worker process."""


def _normalize(text: str | None) -> str | None:
    if text is None:
        return None
    return _SPACES.sub(" ", text).strip() or None


def _clean_text(parts: list[str], sep: str = "") -> str | None:
    return _normalize(sep.join(parts))


# CSS queries are compiled to lxml XPath once and run on the parsed tree directly: a parsel
# Selector per match costs more than the query itself.
_TRANSLATOR = HTMLTranslator()
_TEXT_NODES = etree.XPath(".//text()")
_METAS = etree.XPath("//meta[@content]")


def _class_xpath(name: str) -> str:
    # From the class attributes up to their elements: about three times faster than testing
    # every element's @class, which is what a translated ``.name`` does.
    return f"//@class[contains(concat(' ', normalize-space(.), ' '), ' {name} ')]/.."


# Whole-document forms of the selectors that cost the most as translated CSS; relative queries
# never use them. ``id()`` reads the ID table the parser fills, which holds the first element
# with each id only: right for the body containers, of which only the first is ever used (and
# whether there is one), not for a query that looks past the first match.
_DOCUMENT_XPATH: Final = {
    "#artibody": "id('artibody')",
    "#article": "id('article')",
    ".date-source": _class_xpath("date-source"),
    ".time-source": _class_xpath("time-source"),
}


def _xpath_of(css: str, document: bool) -> str:
    if not document:
        return _TRANSLATOR.css_to_xpath(css)
    parts = [part.strip() for part in css.split(",")]
    return " | ".join(_DOCUMENT_XPATH.get(p) or _TRANSLATOR.css_to_xpath(p) for p in parts)


@cache
def _compiled(css: str, document: bool) -> etree.XPath:
    return etree.XPath(_xpath_of(css, document))


@cache
def _compiled_exists(css: str) -> etree.XPath:
    return etree.XPath(f"boolean({_xpath_of(css, document=True)})")


def _elements(xpath: etree.XPath, node: etree._Element) -> list[etree._Element]:
    return cast(list[etree._Element], xpath(node))


def _select(node: etree._Element, css: str) -> list[etree._Element]:
    """Elements matching ``css`` under ``node``, in document order."""
    return _elements(_compiled(css, node.getparent() is None), node)


def _texts(element: etree._Element) -> list[str]:
    return [str(text) for text in cast(list[Any], _TEXT_NODES(element))]


def _has(sel: etree._Element, css: str) -> bool:
    """Whether the page (``sel`` is its root) has an element matching ``css``."""
    return bool(_compiled_exists(css)(sel))


def _text_of(element: etree._Element, sep: str = "") -> str | None:
    """The element's descendant text (no comments), whitespace-normalized."""
    return _clean_text(_texts(element), sep)


def _meta_map(sel: etree._Element) -> dict[str, str]:
    """``<meta>`` values by ``property`` and by ``name``, the first of each, stripped."""
    found: dict[str, str] = {}
    for meta in _elements(_METAS, sel):
        value = (meta.get("content") or "").strip()
        for key in (meta.get("property"), meta.get("name")):
            if key and key not in found and value:
                found[key] = value
    return found


def _meta(sel: etree._Element, prop: str) -> str | None:
    return _meta_map(sel).get(prop)


def _first_text(sel: etree._Element, css: str, sep: str = "") -> str | None:
    """The whitespace-normalized text of the first element matching ``css`` that has any."""
    for found in _select(sel, css):
        text = _text_of(found, sep)
        if text:
            return text
    return None


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


def _container_html(sel: etree._Element, css: str) -> str | None:
    found = _select(sel, css)
    if not found:
        return None
    return inner_html(found[0])


def extract_body_html(sel: etree._Element) -> str | None:
    """The inner HTML of ``#artibody``, or None when the page has no such container."""
    return _container_html(sel, "#artibody")


def _generic_body(sel: etree._Element) -> tuple[str | None, int, int]:
    """The page's main text as an HTML fragment, found by trafilatura (None when there is
    none), with the non-space characters of the fragment's text and of
    the text inside its links (0, 0 without a fragment)."""
    if _count_chars(_visible_text(sel)) < MIN_GENERIC_CHARS:
        return None, 0, 0
    try:
        import trafilatura  # only pages no Sina template reads need it; a slow import

        # trafilatura prunes the tree it is given, so it gets a serialized copy, not ``sel``.
        page = etree.tostring(sel, method="html", encoding="unicode")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            extracted = trafilatura.extract(
                page,
                output_format="html",
                include_images=True,
                include_links=True,
                include_tables=True,
                include_comments=False,
            )
            if not extracted:
                return None, 0, 0
            fragment = _unwrap_document(extracted)
    except Exception as exc:  # trafilatura and lxml raise many kinds; none may escape
        logger.info("generic extraction failed: %r", exc)
        return None, 0, 0
    if fragment is None:
        return None, 0, 0
    root = page_root(f"<div>{fragment}</div>")
    chars = _count_chars(_visible_text(root))
    if chars < MIN_GENERIC_CHARS:
        return None, chars, 0
    return fragment, chars, _count_chars("".join(_texts_of(_LINK_TEXT, root)))


_LINK_TEXT = etree.XPath("//a//text()")


def _texts_of(xpath: etree.XPath, root: etree._Element) -> list[str]:
    return [str(text) for text in cast(list[Any], xpath(root))]


_VISIBLE = etree.XPath(_VISIBLE_TEXT)


def _visible_text(root: etree._Element) -> str:
    return "".join(str(text) for text in cast(list[Any], _VISIBLE(root)))


def _count_chars(text: str) -> int:
    return len(_SPACES.sub("", text))


def _unwrap_document(document: str) -> str | None:
    """The inner HTML of trafilatura's ``<html><body>`` (and ``<doc>``) wrappers."""
    root = lxml.html.document_fromstring(document)
    container = root.find("body")
    if container is None:
        container = root
    # Unwrap lone wrapper elements (``<doc>``, ``<main>``) that hold nothing but one child.
    while (
        len(container) == 1
        and container[0].tag in {"doc", "main"}
        and not (container.text or "").strip()
        and not (container[0].tail or "").strip()
    ):
        container = container[0]
    return inner_html(container).strip() or None


def _generic_title(sel: etree._Element) -> str | None:
    return _first_text(sel, "h1") or _normalize(_meta(sel, "og:title")) or _first_text(sel, "title")


def _date_source(sel: etree._Element) -> tuple[datetime | None, str | None]:
    """Displayed date and source from ``.date-source`` (finance and news pages).

    The date is the first ``.date`` that reads as a date: 2024 news pages put the author in a
    second ``span.date``. The source is ``.source`` only, never the author.
    """
    boxes = _select(sel, ".date-source")
    displayed = None
    for date in (date for box in boxes for date in _select(box, ".date")):
        displayed = parse_chinese(_text_of(date))
        if displayed is not None:
            break
    if displayed is None and boxes:
        displayed = parse_chinese(_text_of(boxes[0], " "))
    sources = [t for box in boxes for s in _select(box, ".source") for t in _texts(s)]
    return displayed, _clean_text(sources)


def _read_main_title(sel: etree._Element, body_css: str) -> _Visible:
    """Finance and news pages: ``h1.main-title``, ``.date-source``, the body at ``body_css``."""
    displayed, source = _date_source(sel)
    return _Visible(
        title=_first_text(sel, "h1.main-title"),
        displayed_at=displayed,
        source=source,
        body_html=_container_html(sel, body_css),
    )


def _read_finance(sel: etree._Element) -> _Visible:
    return _read_main_title(sel, "#artibody")


def _read_news(sel: etree._Element) -> _Visible:
    return _read_main_title(sel, "#article")


def _read_legacy(sel: etree._Element) -> _Visible:
    time_source = _first_text(sel, ".time-source", " ")
    pub_date = _first_text(sel, "#pub_date", " ")
    source = _first_text(sel, "#media_name")
    if source is None and time_source is not None:
        source = _normalize(_LEADING_CN_DATE.sub("", time_source, count=1))
    return _Visible(
        title=_first_text(sel, "h1#artibodyTitle"),
        displayed_at=parse_chinese(pub_date) or parse_chinese(time_source),
        source=source,
        body_html=extract_body_html(sel),
    )


def _read_mobile(sel: etree._Element) -> _Visible:
    displayed = None
    for time in _select(sel, "time.weibo_time"):
        displayed = parse_iso(time.get("datetime"))
        if displayed is None:
            shown = _text_of(time, " ")
            displayed = parse_chinese(_NUMERIC_DATE.sub(r"\1年\2月\3日 ", shown or ""))
        if displayed is not None:
            break
    return _Visible(
        title=_first_text(sel, "h1.art_tit_h1"),
        displayed_at=displayed,
        source=_first_text(sel, "h2.weibo_user"),
        body_html=_container_html(sel, "section.art_pic_card.art_content"),
    )


def _read_meta(sel: etree._Element) -> _Visible:
    body, chars, links = _generic_body(sel)
    return _Visible(
        title=_normalize(_meta(sel, "og:title")),
        displayed_at=None,
        source=None,
        body_html=body,
        text_chars=chars,
        link_chars=links,
    )


def _read_generic(sel: etree._Element) -> _Visible:
    body, chars, links = _generic_body(sel)
    return _Visible(
        title=_generic_title(sel),
        displayed_at=None,
        source=None,
        body_html=body,
        text_chars=chars,
        link_chars=links,
    )


_READERS: Final[dict[TemplateName, Callable[[etree._Element], _Visible]]] = {
    "finance": _read_finance,
    "legacy": _read_legacy,
    "news": _read_news,
    "mobile": _read_mobile,
    "meta": _read_meta,
    "generic": _read_generic,
}


def detect_template(page: Selector | etree._Element) -> TemplateName:
    """The template of the page; the first rule that matches wins.

    1. ``#artibody``: ``legacy`` when the page has ``h1#artibodyTitle``, ``.time-source`` or
       ``#pub_date`` and no ``h1.main-title``, else ``finance``;
    2. ``news``: ``#article`` with ``h1.main-title`` or ``.date-source``;
    3. ``mobile``: ``h1.art_tit_h1`` or ``section.art_pic_card.art_content``;
    4. ``finance``: ``h1.main-title`` without a body container (a broken or truncated page);
    5. ``legacy``: ``h1#artibodyTitle`` without a body container;
    6. ``meta``: meta ``og:title`` and ``article:published_time``;
    7. ``generic``: anything else.
    """
    return _detect(_root_of(page), None)


def _detect(sel: etree._Element, metas: dict[str, str] | None) -> TemplateName:
    if _has(sel, "#artibody"):
        if _has(sel, "h1.main-title") or not _has(sel, _LEGACY_MARKERS):
            return "finance"
        return "legacy"
    if _has(sel, "#article") and _has(sel, "h1.main-title, .date-source"):
        return "news"
    if _has(sel, "h1.art_tit_h1, section.art_pic_card.art_content"):
        return "mobile"
    # Sina headline markup says what the page is even when its body is gone; a heuristic body
    # would hide the breakage, so these stay Sina templates and come out without a body.
    if _has(sel, "h1.main-title"):
        return "finance"
    if _has(sel, "h1#artibodyTitle"):
        return "legacy"
    metas = _meta_map(sel) if metas is None else metas
    if metas.get("og:title") and metas.get("article:published_time"):
        return "meta"
    return "generic"


def _root_of(page: Selector | etree._Element) -> etree._Element:
    return page.root if isinstance(page, Selector) else page


_PAGE_PARSER = etree.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)


def page_root(text: str) -> etree._Element:
    """The page parsed into a plain lxml tree, the way parsel parses a ``Selector(text=…)``
    (stripped, NUL characters removed), without parsel's wrapper objects.

    Raises :class:`PageTooDeep` when the page nests deeper than libxml2 follows (2048 levels
    even with ``huge_tree``): libxml2 then stops parsing and what follows is lost without an
    exception, so the tree would be a silently truncated page.
    """
    return _parse(_text_bytes(text))


def _text_bytes(text: str) -> bytes:
    """What :func:`page_root` parses of ``text``: stripped, without NULs, in UTF-8."""
    return text.strip().replace("\x00", "").encode("utf-8") or b"<html/>"


# What str.strip() removes that is ASCII: the whitespace bytes.strip() knows and the four
# information separators, which str.isspace() counts as whitespace too.
_ASCII_STRIPPED: Final = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _utf8_bytes(body: bytes, encoding: str) -> bytes | None:
    """``_text_bytes(html_to_unicode(f"charset={encoding}", body)[1])`` without decoding and
    encoding the page again, when the page is valid UTF-8 that w3lib decodes as UTF-8 (by its
    byte order mark or by ``encoding``): those bytes are the text's UTF-8 form already. None
    otherwise, and when the stripped page starts or ends with a non-ASCII character (which
    may be a space str.strip() removes)."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        if bom_encoding != "utf-8":
            return None
        body = body[len(bom) :]
    elif http_content_type_encoding(f"charset={encoding}") != "utf-8":
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None  # w3lib would replace the bad bytes
    data = body.strip(_ASCII_STRIPPED)
    if data[:1] >= b"\x80" or data[-1:] >= b"\x80":
        return None
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    return data or b"<html/>"


def _parse(data: bytes) -> etree._Element:
    """``data`` (as :func:`_text_bytes` makes it) parsed; raises :class:`PageTooDeep` as
    :func:`page_root` does."""
    root = etree.fromstring(data, _PAGE_PARSER)
    # The parser's log holds the errors of its last run, this one.
    for error in _PAGE_PARSER.error_log.filter_types([etree.ErrorTypes.ERR_RESOURCE_LIMIT]):
        if "depth" in error.message.lower():
            # libxml2 says "Excessive depth in document: 2048, use XML_PARSE_HUGE option"; the
            # advice does not apply (huge_tree is that option), the limit does.
            limit = error.message.split(",", 1)[0].strip()
            raise PageTooDeep(f"the page nests elements too deep to parse whole ({limit})")
    if root is None:
        root = etree.fromstring(b"<html/>", _PAGE_PARSER)
    return root


def parse_article(page: Selector | etree._Element) -> ArticlePage:
    """Everything the archive needs from an article page, read with the page's own template.

    Pure: the page is not modified. Never raises on empty, garbage or truncated pages; what is
    missing is ``None``. ``template`` says which template matched (``generic`` when none did).
    """
    sel = _root_of(page)
    metas = _meta_map(sel)
    template = _detect(sel, metas)
    visible = _READERS[template](sel)
    published = parse_iso(metas.get("article:published_time"))
    headlines: tuple[str, ...] = ()
    kind = None
    if template in FALLBACK_TEMPLATES:
        headlines = _headlines(sel, metas)
        kind = _page_kind(sel, headlines, visible)
    return ArticlePage(
        title=visible.title or _normalize(metas.get("og:title")),
        published_at=published or visible.displayed_at,
        displayed_at=visible.displayed_at,
        source=visible.source or _normalize(metas.get("article:author")),
        body_html=visible.body_html,
        template=template,
        headlines=headlines,
        text_chars=visible.text_chars,
        page_kind=kind,
    )


def _headlines(sel: etree._Element, metas: dict[str, str]) -> tuple[str, ...]:
    """The page's own titles, in order, each once: every ``<h1>`` with text (at most three: a
    news page's first is the 新闻中心 logo), ``og:title``, ``<title>`` and its part before the
    first site-name separator (``标题_新浪财经_新浪网``)."""
    found = [text for h1 in _select(sel, "h1")[:3] if (text := _text_of(h1))]
    found.append(_normalize(metas.get("og:title")) or "")
    tab = _first_text(sel, "title")
    if tab:
        found += [tab, _TITLE_SEPARATORS.split(tab, maxsplit=1)[0]]
    return tuple(dict.fromkeys(text for text in found if text))


def _page_kind(sel: etree._Element, headlines: Sequence[str], visible: _Visible) -> PageKind | None:
    """Which of :data:`PAGE_KINDS` the page shows itself to be, or None.

    Headlines are searched for error and wall wording; the page's text too when it is short
    (under :data:`SHORT_PAGE_CHARS`). A login wall also needs a password field. A body whose
    text is :data:`MAX_LINK_SHARE` or more link text is a list of headlines.
    """
    said = " ".join(headlines).lower()
    text = _visible_text(sel)
    if _count_chars(text) < SHORT_PAGE_CHARS:
        said = f"{said} {text.lower()}"
    if any(word in said for word in _ERROR_WORDS):
        return "error"
    # Before the captcha words: a login form often holds a captcha field of its own.
    if _has(sel, "input[type=password]") and any(word in said for word in _LOGIN_WORDS):
        return "login"
    if any(word in said for word in _CAPTCHA_WORDS):
        return "captcha"
    chars = visible.text_chars or 0
    if chars >= MIN_GENERIC_CHARS and visible.link_chars >= MAX_LINK_SHARE * chars:
        return "index"
    return None


class PageEvidence(Protocol):
    """What :func:`looks_like_article` reads (an :class:`ArticlePage` has it)."""

    @property
    def template(self) -> str | None: ...
    @property
    def headlines(self) -> Sequence[str]: ...
    @property
    def text_chars(self) -> int | None: ...
    @property
    def page_kind(self) -> str | None: ...


def looks_like_article(page: PageEvidence, expected_title: str | None) -> str | None:
    """Why a ``meta`` or ``generic`` result is not the article, or None when it looks like it.

    ``expected_title`` is the roll's title of the article (None or empty for ``-a urls``). A
    result is accepted when the page does not show itself to be an error page, a wall or a
    list of headlines (:data:`PAGE_KINDS`), its body has at least :data:`MIN_ARTICLE_CHARS`
    non-space characters, and one of its own titles (:attr:`ArticlePage.headlines`) matches
    ``expected_title`` (:func:`titles_match`); without an expected title, the page must have a
    title of its own. Pages of the Sina templates are always accepted: their markup says what
    they are. Pure.
    """
    if page.template not in FALLBACK_TEMPLATES:
        return None
    if page.page_kind:
        return f"{PAGE_KINDS.get(page.page_kind, page.page_kind)}, not the article"
    chars = page.text_chars or 0
    if chars < MIN_ARTICLE_CHARS:
        return f"only {chars} characters of text (fewer than {MIN_ARTICLE_CHARS})"
    expected = (expected_title or "").strip()
    if not expected:
        return None if page.headlines else "the page has no title of its own"
    if any(titles_match(expected, headline) for headline in page.headlines):
        return None
    shown = page.headlines[0] if page.headlines else "none"
    return f"no title on the page matches the roll's (page: {shown!r})"


def title_key(title: str) -> str:
    """``title`` as :func:`titles_match` compares it: NFKC-normalized, case-folded, without
    whitespace, punctuation, symbols or control characters (so ``：`` and ``:``, ``“”`` and
    ``""`` and any spacing compare equal)."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PSZC")


def titles_match(one: str, other: str) -> bool:
    """Whether two titles name the same article: their :func:`title_key` forms are equal, or
    the shorter (at least :data:`MIN_CONTAINED_TITLE` characters) is part of the longer, or
    their difflib similarity ratio is at least :data:`TITLE_SIMILARITY` (a word edited, a
    suffix such as （附全文） added)."""
    a, b = title_key(one), title_key(other)
    if not a or not b:
        return False
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) >= MIN_CONTAINED_TITLE and short in long:
        return True
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= TITLE_SIMILARITY


def read_article(body: bytes, encoding: str) -> ArticlePage:
    """:func:`parse_article` of a page's raw bytes, decoded as Scrapy decodes a response whose
    encoding is ``encoding`` (``response.text``) and parsed as :func:`page_root` parses it.
    Pure and picklable: worker processes run it. Raises :class:`PageTooDeep` (as
    :func:`page_root` does) for a page too deep to parse whole."""
    data = _utf8_bytes(body, encoding)
    if data is None:
        data = _text_bytes(html_to_unicode(f"charset={encoding}", body)[1])
    return parse_article(_parse(data))
