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

:func:`read_article` parses a page only up to just after its body container when nothing in
the rest of the page can change what it returns (most of a Sina page follows the body).
"""

from __future__ import annotations

import html
import logging
import re
import string
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from functools import cache
from html.entities import html5
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


def _class_xpath(name: str) -> str:
    # From the class attributes up to their elements: about three times faster than testing
    # every element's @class, which is what a translated ``.name`` does. The plain contains()
    # first spares most attributes the normalize-space() (a class has the name only if its
    # text does).
    return (
        f"//@class[contains(., '{name}')]"
        f"[contains(concat(' ', normalize-space(.), ' '), ' {name} ')]/.."
    )


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
    # The tree's own walk, in document order like //meta: three times faster than the XPath.
    for meta in sel.getroottree().iter("meta"):
        if meta.get("content") is None:
            continue
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


@dataclass(frozen=True)
class _Reach:
    """What a Sina template's reader reads outside its body container, anywhere in the page:
    ``first``, selectors of which it reads the first match with text; ``every``, selectors of
    which it reads every match. ``container`` is the body container, of which it reads the
    first match. (Each selector names a class or an id.)"""

    container: str
    first: tuple[str, ...] = ()
    every: tuple[str, ...] = ()


_REACH: Final[dict[TemplateName, _Reach]] = {
    "finance": _Reach("#artibody", first=("h1.main-title",), every=(".date-source",)),
    "news": _Reach("#article", first=("h1.main-title",), every=(".date-source",)),
    "legacy": _Reach(
        "#artibody", first=(".time-source", "#pub_date", "#media_name", "h1#artibodyTitle")
    ),
    "mobile": _Reach(
        "section.art_pic_card.art_content",
        first=("h1.art_tit_h1", "h2.weibo_user"),
        every=("time.weibo_time",),
    ),
}
_META_KEYS: Final = ("og:title", "article:published_time", "article:author")
"""The meta tags :func:`parse_article` reads on a Sina template's page (the first of each)."""


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
    template = _sina_template(lambda css: _has(sel, css))
    if template is not None:
        return template
    metas = _meta_map(sel) if metas is None else metas
    if metas.get("og:title") and metas.get("article:published_time"):
        return "meta"
    return "generic"


def _sina_template(has: Callable[[str], bool]) -> TemplateName | None:
    """Rules 1–5 of :func:`detect_template`, asking ``has`` whether the page has an element
    matching a CSS selector; None when no Sina template's markup is there."""
    if has("#artibody"):
        if has("h1.main-title") or not has(_LEGACY_MARKERS):
            return "finance"
        return "legacy"
    if has("#article") and has("h1.main-title, .date-source"):
        return "news"
    if has("h1.art_tit_h1, section.art_pic_card.art_content"):
        return "mobile"
    # Sina headline markup says what the page is even when its body is gone; a heuristic body
    # would hide the breakage, so these stay Sina templates and come out without a body.
    if has("h1.main-title"):
        return "finance"
    if has("h1#artibodyTitle"):
        return "legacy"
    return None


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
    return _read(sel, metas, _detect(sel, metas))


def _read(sel: etree._Element, metas: dict[str, str], template: TemplateName) -> ArticlePage:
    """:func:`parse_article` of the page ``sel``, whose meta tags are ``metas`` (as
    :func:`_meta_map` finds them) and whose template is ``template``."""
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
    :func:`page_root` does) for a page too deep to parse whole.

    The result is always the whole page's; when nothing after the template's body container
    can change it, only the page up to just after the container is parsed (most of a Sina
    page, its related links, comments, footer and scripts, follows the body).
    """
    data = _utf8_bytes(body, encoding)
    if data is None:
        data = _text_bytes(html_to_unicode(f"charset={encoding}", body)[1])
    cut = _guess_cut(data)
    if cut is not None:
        page = _read_before_cut(data, cut)
        if page is not None:
            return page
    return parse_article(_parse(data))


# ---- reading a page up to the end of its body -------------------------------------------------

# How Sina writes the start tag of the body container of each template (finance and legacy,
# news, mobile). Only for guessing where to cut: the parse decides what the page holds.
_CONTAINER_MARKS: Final = (
    b'id="artibody"',
    b'id="article"',
    b'class="art_pic_card art_content"',
)
_TAG_NAME = re.compile(rb"<([a-z][a-z0-9]*)")
# The comment put after the cut, to find in the tree where the cut fell. (A comment, not an
# element: libxml2 keeps a comment's text as written, so only a page that holds these bytes can
# pass one of its own for it.)
_CUT_TEXT: Final = "newsspider-cut"
_CUT_MARK: Final = f"<!--{_CUT_TEXT}-->".encode()
# libxml2's limit with huge_tree (elements open at once), less a few elements it may open by
# itself (html, head, body).
_MAX_OPEN: Final = 2048 - 8


def _guess_cut(data: bytes) -> int | None:
    """Where the page likely goes on after its body container: the first ``<`` after the end
    tag that balances the container's start tag, counting the start and end tags of its name
    as strings. A guess, which :func:`_read_before_cut` checks; None when the page has no
    container mark, or when the tags never balance."""
    for mark in _CONTAINER_MARKS:
        at = data.find(mark)
        if at >= 0:
            break
    else:
        return None
    start = data.rfind(b"<", 0, at)
    name = _TAG_NAME.match(data, start) if start >= 0 else None
    if name is None:
        return None
    opening, closing = b"<" + name.group(1), b"</" + name.group(1)
    depth = 0
    next_open, next_close = start, data.find(closing, start)
    while next_close >= 0:
        if 0 <= next_open < next_close:
            depth += 1
            next_open = data.find(opening, next_open + 1)
            continue
        depth -= 1
        if depth == 0:
            cut = data.find(b"<", next_close + 1)
            return cut if cut > 0 else None
        next_close = data.find(closing, next_close + 1)
    return None


# Character references the rest of a page could spell a class, id or meta name with: numeric
# ones, and the named ones that stand for an ASCII letter, digit, "-", "_" or ":" (in HTML5's
# table, which is larger than libxml2's). Case is ignored, to be safe.
_NAME_CHARACTERS: Final = frozenset(string.ascii_letters + string.digits + "-_:")
_NAME_REFERENCE = re.compile(
    rb"&(?:#|"
    + b"|".join(
        sorted(
            {
                re.escape(name.rstrip(";")).encode()
                for name, text in html5.items()
                if _NAME_CHARACTERS & set(text)
            }
        )
    )
    + rb")",
    re.IGNORECASE,
)
# A type selector with classes and ids, such as ``h1.main-title`` or ``#artibody``.
_SIMPLE_SELECTOR = re.compile(r"[a-z0-9]*(?:[.#][\w-]+)+")


def _name_in(selector: str) -> str | None:
    """The last class or id of a simple selector (``h1.main-title``: ``main-title``), which
    every element it matches has in a start tag; None for other selectors."""
    if _SIMPLE_SELECTOR.fullmatch(selector) is None:
        return None
    return re.split(r"[.#]", selector)[-1]


def _parts(css: str) -> list[str]:
    return [part.strip() for part in css.split(",")]


class _Rest:
    """The page after the cut, which the parser has not seen."""

    def __init__(self, data: bytes, cut: int) -> None:
        self._data = data
        self._cut = cut
        self._spelled = _NAME_REFERENCE.search(data, cut) is not None

    def may_hold(self, name: str | None) -> bool:
        """Whether a start tag in the rest may hold ``name`` (a class, id or meta name), written
        out or with character references; always for None, a name not known."""
        if name is None or self._spelled:
            return True
        return self._data.find(name.encode(), self._cut) >= 0

    def levels(self) -> int:
        """At most how many elements the rest nests in one another: each starts with ``<``."""
        return self._data.count(b"<", self._cut)


class _Undecided(Exception):
    """No element before the cut matches the selector (the message); the rest may hold one."""


def _settled_template(root: etree._Element, rest: _Rest) -> TemplateName | None:
    """The Sina template of the whole page when the page before the cut (``root``) decides
    it, whatever the rest holds; None when it does not, or when the page has no Sina template.

    :func:`_sina_template` is asked once for every answer the rest could give to the questions
    the page before the cut leaves open: a selector nothing before the cut matches, whose
    class or id the rest may hold.
    """
    matched: dict[str, bool] = {}

    def before(part: str) -> bool:
        if part not in matched:
            matched[part] = _has(root, part)
        return matched[part]

    outcomes: set[TemplateName | None] = set()
    pending: list[dict[str, bool]] = [{}]
    while pending and len(outcomes) < 2:
        assumed = pending.pop()

        def has(css: str, assumed: dict[str, bool] = assumed) -> bool:
            parts = _parts(css)
            if any(before(part) or assumed.get(part, False) for part in parts):
                return True
            for part in parts:
                if part not in assumed and rest.may_hold(_name_in(part)):
                    raise _Undecided(part)
            return False

        try:
            outcomes.add(_sina_template(has))
        except _Undecided as undecided:
            part = str(undecided)
            pending += [{**assumed, part: False}, {**assumed, part: True}]
    return outcomes.pop() if len(outcomes) == 1 else None


def _read_before_cut(data: bytes, cut: int) -> ArticlePage | None:
    """:func:`parse_article` of the whole page ``data``, read from ``data[:cut]`` alone; None
    when the rest of the page could change the result, or when the cut falls inside a token.
    Raises :class:`PageTooDeep` when the page is too deep before the cut."""
    # Why the result stands. libxml2 builds the tree as it reads and never goes back: what it
    # closed before the cut is the same in the whole page's tree. The mark after the cut is the
    # last node of the tree, inside exactly the elements open at the cut, when the cut falls
    # between tokens (else a tag, a comment or a script swallows it). The rest can only add
    # elements after the closed ones, and text and elements inside the open ones (and, through a
    # misplaced <html> or <body>, at most attributes to those two); every element it adds has
    # its class and id in a start tag of the rest. So the checks below: the part before the cut
    # settles the template and holds its container, closed; no open element is one the reader
    # reads; the rest names no selector the reader reads every match of, nor one whose first
    # match with text is not before the cut, nor a meta tag parse_article reads that is not
    # before the cut; and the rest cannot nest deep enough for the whole parse to raise.
    if data.find(_CUT_TEXT.encode(), 0, cut) >= 0:
        return None  # a comment of the page could pass for the mark
    # The mark opens no element: a page nested too deep before the cut is too deep whole, and
    # raises here as it would there.
    root = _parse(data[:cut] + _CUT_MARK)
    mark = root
    while len(mark):
        mark = mark[-1]
    tag: Any = mark.tag  # the Comment factory for a comment
    if tag is not etree.Comment or mark.text != _CUT_TEXT:
        return None
    rest = _Rest(data, cut)
    template = _settled_template(root, rest)
    if template is None:
        return None
    reach = _REACH[template]
    opened = list(mark.iterancestors())
    containers = _select(root, reach.container)
    if not containers or containers[0] in opened:
        return None
    read = [_name_in(css) for css in (*reach.first, *reach.every)]
    for element in opened:
        values = " ".join(str(value) for value in element.values())
        if any(name is None or name in values for name in read):
            return None
    if any(rest.may_hold(_name_in(css)) for css in reach.every):
        return None
    if any(rest.may_hold(_name_in(css)) and _first_text(root, css) is None for css in reach.first):
        return None
    metas = _meta_map(root)
    if any(key not in metas and rest.may_hold(key) for key in _META_KEYS):
        return None
    if len(opened) + rest.levels() > _MAX_OPEN:
        return None
    return _read(root, metas, template)
