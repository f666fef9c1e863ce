"""Turn an article's body HTML into the body of an archive post.

Two modes:

* ``verbatim`` reproduces, byte for byte, what the older RSS pipeline wrote: the fragment is
  re-parsed as a whole document, image and link URLs are made absolute, every ``<img>`` gets
  ``referrerpolicy="no-referrer"``, ``<script>`` is removed, entities are decoded, empty
  attributes are written bare and void elements have no ``/``.
* ``clean`` keeps the article (text, pictures, links, tables, the editor line) and drops the rest
  (scripts, styles, comments, iframes, QR codes, app promotions, ad slots, hidden blocks), sanitized
  with nh3 and laid out so that Markdown leaves it alone. Its ``headimg`` is the first picture of
  that clean body, never one it removed.

* ``markdown`` is the clean body converted to Markdown (:mod:`newsspider.archive.markdown`):
  what a clean post keeps, in Markdown syntax, with the same ``headimg``.

Every mode escapes ``{`` and ``}`` as ``&#123;``/``&#125;``: Hexo runs post bodies through
Nunjucks.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast
from urllib.parse import urljoin

import nh3
from lxml import etree

from newsspider.archive.markdown import MAX_DEPTH, to_markdown

VOID_ELEMENTS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
# A document parser puts these into <head> when they come before any body content.
_HEAD_ELEMENTS = frozenset(["base", "link", "meta", "script", "style", "title"])
_HTML_SPACE = " \t\n\f\r"

# Blocks that are not article content, removed with everything in them, by class.
PROMO_CLASSES = frozenset(
    {
        # 文末二维码: the 新浪财经APP QR code ("海量资讯、精准解读，尽在新浪财经APP") that ends the
        # 2020–2022 bodies; the older pipeline took its picture for headimg.
        "appendQr_wrap",
        # 开户二维码: the brokerage account-opening QR code ("炒股开户享福利…").
        "app-kaihu-qr",
        # 行情图: the quote chart widget of 2016 bodies (a chart image, links to quote pages and a
        # 客户端 app link); a chart of the day's market, not a picture of the article.
        "ct_hqimg",
        # The 新浪财经APP securities promotion box.
        "finance_app_zqtg",
        # The 新浪财经APP download box of 2017–2019 bodies.
        "xb_new_finance_app",
        # The ad box (div#ad_NNNNN) that holds a sinaads slot at the end of news bodies.
        "otherContent_01",
        # A Sina ad slot (<ins class="sinaads" data-ad-pdps=…>): empty until a script fills it with
        # an ad iframe.
        "sinaads",
    }
)
# Blocks marked by Sina's click tracking (data-sudaclick) rather than a class.
PROMO_SUDACLICK = frozenset(
    {
        # 股吧推广: "进入【新浪财经股吧】讨论", the link to the 股吧 forum closing 2014–2016 bodies.
        "suda_1028_guba",
    }
)
# An element carrying this attribute is a slot of Sina's ad system (SAX), e.g. the empty
# <div sax-type="proxy" class="j_native_opq…"> between the paragraphs of finance.sina.cn bodies.
_AD_SLOT_ATTRIBUTE = "sax-type"
_DROP_WITH_CONTENT = frozenset(
    [
        "script",
        "style",
        "iframe",
        "noscript",
        "object",
        "embed",
        "form",
        "button",
        "select",
        "textarea",
        "template",
        # Obsolete raw-text elements. libxml2 reads their content as text and lxml writes it back
        # escaped, which nh3 (an HTML5 parser, raw text too) escapes once more: a reader would see
        # "&lt;b&gt;" where a tag was. <plaintext> never closes: it holds the rest of the body.
        "xmp",
        "noembed",
        "noframes",
        "plaintext",
    ]
)
_CLEAN_TAGS = frozenset(nh3.ALLOWED_TAGS) - {"area", "map"}
_CLEAN_ATTRIBUTES = {
    "a": {"href", "title", "target"},
    "img": {"src", "alt", "title", "width", "height", "referrerpolicy"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start"},
}
_CLEANER = nh3.Cleaner(
    tags=set(_CLEAN_TAGS),
    attributes=_CLEAN_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    strip_comments=True,
    link_rel="noopener noreferrer",
)
_LEADING_SPACE = re.compile(r"^[ \t]+", re.M)


class BodyMode(StrEnum):
    """How a post body is written (setting ``ARCHIVE_BODY``)."""

    VERBATIM = "verbatim"
    CLEAN = "clean"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class ArchiveBody:
    """A ready post body (braces escaped) and the picture the front matter shows."""

    html: str
    headimg: str


def escape_braces(text: str) -> str:
    """``{``/``}`` as ``&#123;``/``&#125;``, so Nunjucks leaves them alone."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


# huge_tree, like the page parser (newsspider.sina.article): without it libxml2 stops at 256
# levels of nesting and silently drops the rest of the body.
_FRAGMENT_PARSER = etree.HTMLParser(remove_blank_text=False, remove_comments=False, huge_tree=True)


def parse_fragment(body_html: str) -> etree._Element:
    """The body markup parsed as a document's ``<body>``; the element returned holds it.

    Plain lxml elements (no ``lxml.html`` element classes): they are much cheaper to walk.
    """
    document = etree.fromstring(f"<html><body>{body_html}</body></html>", _FRAGMENT_PARSER)
    if document is None:
        document = etree.fromstring("<html><body></body></html>", _FRAGMENT_PARSER)
    body = document.find("body")
    if body is None:  # markup the parser put elsewhere entirely
        body = etree.SubElement(document, "body")
    return body


def _absolutize(root: etree._Element, base_url: str) -> None:
    for img in root.iter("img"):
        src = img.get("src")
        if src is not None:
            img.set("src", urljoin(base_url, src.strip()))
        img.set("referrerpolicy", "no-referrer")
    for link in root.iter("a"):
        href = link.get("href")
        if href is not None:
            link.set("href", urljoin(base_url, href.strip()))


def first_image(root: etree._Element) -> str:
    """``src`` of the first ``<img>`` outside comments and scripts, or ``''``."""
    for img in root.iter("img"):
        return img.get("src") or ""
    return ""


def _remove(element: etree._Element) -> None:
    """Remove an element and its content, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _leading_body_nodes(root: etree._Element) -> Iterable[etree._Element]:
    """The children a document parser keeps in ``<body>``.

    Comments and head elements (``<style>``, ``<meta>``…) that come before the first content
    node go to ``<head>`` or the document, and so does leading whitespace.
    """
    children = list(root)
    index = 0
    if not (root.text or "").strip(_HTML_SPACE):
        while index < len(children):
            child = children[index]
            tag: Any = child.tag
            is_head = tag is etree.Comment or tag in _HEAD_ELEMENTS
            if not is_head or (child.tail or "").strip(_HTML_SPACE):
                break
            index += 1
    return children[index:]


def _verbatim_nodes(nodes: Iterable[etree._Element], out: list[str]) -> None:
    # An explicit stack rather than recursion: the parsers accept bodies nested up to 2048 levels
    # deep, past Python's recursion limit. Each frame holds the children left to write and the
    # element whose end tag (and tail) follows them.
    stack: list[tuple[Iterator[etree._Element], etree._Element | None]] = [(iter(nodes), None)]
    while stack:
        children, parent = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            if parent is not None:
                out.append(f"</{parent.tag}>")
                if parent.tail:
                    out.append(parent.tail)
            continue
        tag: Any = node.tag  # a str for elements; the Comment/PI factory for the others
        if tag is etree.Comment:
            out.append(f"<!--{node.text or ''}-->")
        elif isinstance(tag, str) and tag != "script":
            out.append("<" + tag)
            for name, value in node.items():
                if value == "":
                    out.append(f" {name!s}")
                else:
                    out.append(f' {name!s}="{str(value).replace(chr(34), "&quot;")}"')
            out.append(">")
            if tag not in VOID_ELEMENTS:
                if node.text:
                    out.append(node.text)
                stack.append((iter(node), node))
                continue  # the end tag and the tail come when its children are written
        if node.tail:
            out.append(node.tail)


def _verbatim(root: etree._Element, base_url: str) -> ArchiveBody:
    """The body exactly as the older pipeline wrote it (see the module docstring)."""
    _absolutize(root, base_url)
    out: list[str] = []
    leading = (root.text or "").lstrip(_HTML_SPACE)
    if leading:
        out.append(leading)
    _verbatim_nodes(_leading_body_nodes(root), out)
    return ArchiveBody(html=escape_braces("".join(out)), headimg=first_image(root))


def _sanitized(root: etree._Element, base_url: str, *, flat: bool = False) -> str:
    """The article content as nh3 writes it: what clean mode keeps, before its layout; with
    ``flat``, nested at most :data:`~newsspider.archive.markdown.MAX_DEPTH` deep
    (:func:`_flatten`)."""
    _absolutize(root, base_url)
    for element in _doomed(root):
        _remove(element)
    if flat:
        _flatten(root)
    markup = "".join(
        [_escape_text(root.text or "")]
        + [etree.tostring(c, method="html", encoding="unicode", with_tail=True) for c in root]
    )
    return _CLEANER.clean(markup)


def _clean(root: etree._Element, base_url: str) -> ArchiveBody:
    """The article content, sanitized, one block per line with no indentation.

    ``headimg`` is the first picture of this clean body, or ``''``: never a QR code, ad or hidden
    share image removed here, nor a picture whose ``src`` nh3 drops (``data:``, ``javascript:``).
    """
    sanitized = _sanitized(root, base_url)
    lines = (line for line in _LEADING_SPACE.sub("", sanitized).splitlines())
    text = "\n".join(line for line in lines if line.strip(_HTML_SPACE))
    return ArchiveBody(html=escape_braces(text), headimg=_first_sanitized_image(sanitized))


# The elements MAX_DEPTH deep in a fragment's body (/html/body/… : two steps more). A path of
# steps visits each element once; a predicate counting ancestors costs five times more.
_AT_MAX_DEPTH = etree.XPath("/" + "/".join(["*"] * (MAX_DEPTH + 2)))


def _flatten(root: etree._Element) -> None:
    """Replace every element nested deeper than :data:`~newsspider.archive.markdown.MAX_DEPTH`
    in ``root`` (a fragment's body) by its content: text, and void elements (pictures, line
    breaks) where they stand."""
    for element in cast(list[etree._Element], _AT_MAX_DEPTH(root)):
        names = {
            tag
            for tag in (node.tag for node in element.iterdescendants())
            if isinstance(tag, str) and tag not in VOID_ELEMENTS
        }
        if names:
            etree.strip_tags(element, *names)


def _markdown(root: etree._Element, base_url: str) -> ArchiveBody:
    """The clean body (:func:`_clean`) in Markdown, with the clean body's ``headimg``; elements
    nested deeper than the converter reads (:data:`~newsspider.archive.markdown.MAX_DEPTH`)
    are written as their content."""
    sanitized = _sanitized(root, base_url, flat=True)
    return ArchiveBody(html=to_markdown(sanitized), headimg=_first_sanitized_image(sanitized))


# nh3 writes every attribute as name="value" with `"` escaped inside values, and `<` in text as
# `&lt;`: so this matches the <img> tags of its output and no other text, attribute by attribute
# (a `>` inside a value does not end the tag).
_SANITIZED_IMG_SRC = re.compile(r'<img(?:\s+(?!src=)[^\s"=>/]+(?:="[^"]*")?)*\s+src="([^"]*)"')


def _first_sanitized_image(sanitized: str) -> str:
    """The ``src`` of the first ``<img>`` with one in nh3's output, unescaped, or ``''``."""
    match = _SANITIZED_IMG_SRC.search(sanitized)
    return html.unescape(match.group(1)) if match else ""


_CLASS_SPACE = re.compile(r"[ \t\r\n]+")  # what XPath's normalize-space() treats as space


def _doomed(root: etree._Element) -> list[etree._Element]:
    """Everything clean mode removes with its content, in document order: comments, processing
    instructions, the tags of :data:`_DROP_WITH_CONTENT`, the :data:`PROMO_CLASSES` and
    :data:`PROMO_SUDACLICK` blocks, SAX ad slots, hidden elements (:func:`_is_hidden`) and
    ``<ins>`` elements with no text or picture (ad placeholders a script was to fill).

    One walk in Python: an XPath union walks the tree once per tag and class, four times slower.
    """
    found = []
    for element in root.iterdescendants():
        tag: Any = element.tag
        if (
            tag is etree.Comment
            or tag is etree.ProcessingInstruction
            or tag in _DROP_WITH_CONTENT
            or (tag == "ins" and not _has_content(element))
            or (not _WATCHED_ATTRIBUTES.isdisjoint(element.keys()) and _is_promo_or_hidden(element))
        ):
            found.append(element)
    return found


# The attributes that can doom an element; most elements have none of them, and one look at the
# names (keys()) is cheaper than reading each attribute.
_WATCHED_ATTRIBUTES = frozenset({"class", "data-sudaclick", _AD_SLOT_ATTRIBUTE, "hidden", "style"})


def _is_promo_or_hidden(element: etree._Element) -> bool:
    classes = element.get("class")
    return bool(
        (classes and not PROMO_CLASSES.isdisjoint(_CLASS_SPACE.split(classes)))
        or element.get("data-sudaclick") in PROMO_SUDACLICK
        or element.get(_AD_SLOT_ATTRIBUTE) is not None
        or _is_hidden(element)
    )


def _is_hidden(element: etree._Element) -> bool:
    """True for an element a browser does not show: the ``hidden`` attribute (but
    ``hidden="until-found"``, whose text find-in-page reveals), or ``display: none`` /
    ``visibility: hidden`` in its ``style``.

    Sina hides share pictures this way, e.g. the WeChat share image
    ``<div id="wx_pic" style="margin:0 auto;display:none;">`` of finance.sina.cn bodies: a reader
    of the page never sees them, and they are not the article's pictures.
    """
    hidden = element.get("hidden")
    if hidden is not None and hidden.strip(_HTML_SPACE).lower() != "until-found":
        return True
    style = element.get("style")
    if not style:
        return False
    style = style.lower()
    if "none" not in style and "hidden" not in style and "collapse" not in style:
        return False  # most styles are widths and margins: skip the parse
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        if not colon:
            continue
        name = name.strip(_HTML_SPACE)
        value = value.split("!", 1)[0].strip(_HTML_SPACE)  # "none !important" is "none"
        if (name == "display" and value == "none") or (
            name == "visibility" and value in ("hidden", "collapse")
        ):
            return True
    return False


_CONTENT_TEXT = etree.XPath(".//text()[not(ancestor::script) and not(ancestor::style)]")


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _has_content(root: etree._Element) -> bool:
    """True when the body holds text (outside scripts, styles and comments) or a picture."""
    if next(root.iter("img"), None) is not None:
        return True
    texts = cast(list[str], _CONTENT_TEXT(root))
    return any(str(text).strip() for text in [root.text or "", *texts])


def render_body(body_html: str, base_url: str, mode: BodyMode) -> ArchiveBody | None:
    """The post body for ``mode``, or None when the article body is empty."""
    root = parse_fragment(body_html)
    if not _has_content(root):
        return None
    if mode is BodyMode.VERBATIM:
        return _verbatim(root, base_url)
    if mode is BodyMode.MARKDOWN:
        return _markdown(root, base_url)
    return _clean(root, base_url)


def post_content(body: str, mode: BodyMode) -> str:
    """What follows the front matter: the body inside the archive's ``<div>`` wrapper, or in
    markdown mode the body alone (between blank lines: see :func:`is_markdown_content`).

    Verbatim mode keeps the older pipeline's exact whitespace around the wrapper.
    """
    if mode is BodyMode.VERBATIM:
        return f"\n<div>   \n{body}  \n</div>\n            "
    if mode is BodyMode.MARKDOWN:
        return f"\n{body}\n"
    return f"\n<div>\n{body}\n</div>\n"


def is_markdown_content(content: str) -> bool:
    """True when ``content`` (what follows a post's front matter) is a markdown body: any but
    the ``<div>`` wrapper of the HTML modes, which a markdown body never starts with (the
    converter writes no ``<div>``, and text that shows one is escaped)."""
    return not content.lstrip("\n").startswith("<div>")
