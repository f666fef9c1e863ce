"""Turn an article's body HTML into the body of an archive post.

Two modes:

* ``verbatim`` reproduces, byte for byte, what the older RSS pipeline wrote: the fragment is
  re-parsed as a whole document, image and link URLs are made absolute, every ``<img>`` gets
  ``referrerpolicy="no-referrer"``, ``<script>`` is removed, entities are decoded, empty
  attributes are written bare and void elements have no ``/``.
* ``clean`` keeps the article (text, pictures, links, tables, the editor line) and drops the rest
  (scripts, styles, comments, iframes, QR and app promotions), sanitized with nh3 and laid out so
  that Markdown leaves it alone.

Both modes escape ``{`` and ``}`` as ``&#123;``/``&#125;``: Hexo runs post bodies through Nunjucks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast
from urllib.parse import urljoin

import nh3
from lxml import etree

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

# Blocks that are not article content: QR codes, app and brokerage promotions, quote widgets.
PROMO_CLASSES = frozenset({"appendQr_wrap", "app-kaihu-qr", "ct_hqimg", "finance_app_zqtg"})
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


@dataclass(frozen=True)
class ArchiveBody:
    """A ready post body (braces escaped) and the picture the front matter shows."""

    html: str
    headimg: str


def escape_braces(text: str) -> str:
    """``{``/``}`` as ``&#123;``/``&#125;``, so Nunjucks leaves them alone."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


_FRAGMENT_PARSER = etree.HTMLParser(remove_blank_text=False, remove_comments=False)


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
    for node in nodes:
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
                _verbatim_nodes(node, out)
                out.append(f"</{tag}>")
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


def _clean(root: etree._Element, base_url: str) -> ArchiveBody:
    """The article content, sanitized, one block per line with no indentation.

    ``headimg`` is the same as in verbatim mode, so both modes share one front matter.
    """
    _absolutize(root, base_url)
    headimg = first_image(root)
    for element in _doomed(root):
        _remove(element)
    markup = "".join(
        [_escape_text(root.text or "")]
        + [etree.tostring(c, method="html", encoding="unicode", with_tail=True) for c in root]
    )
    sanitized = _CLEANER.clean(markup)
    lines = (line for line in _LEADING_SPACE.sub("", sanitized).splitlines())
    text = "\n".join(line for line in lines if line.strip(_HTML_SPACE))
    return ArchiveBody(html=escape_braces(text), headimg=headimg)


_CLASS_SPACE = re.compile(r"[ \t\r\n]+")  # what XPath's normalize-space() treats as space


def _doomed(root: etree._Element) -> list[etree._Element]:
    """Everything clean mode removes with its content, in document order: comments, processing
    instructions, the tags of :data:`_DROP_WITH_CONTENT` and the :data:`PROMO_CLASSES` blocks.

    One walk in Python: an XPath union walks the tree once per tag and class, four times slower.
    """
    found = []
    for element in root.iterdescendants():
        tag: Any = element.tag
        if tag is etree.Comment or tag is etree.ProcessingInstruction or tag in _DROP_WITH_CONTENT:
            found.append(element)
            continue
        classes = element.get("class")
        if classes and not PROMO_CLASSES.isdisjoint(_CLASS_SPACE.split(classes)):
            found.append(element)
    return found


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
    return _clean(root, base_url)


def post_content(body: str, mode: BodyMode) -> str:
    """What follows the front matter: the body inside the archive's ``<div>`` wrapper.

    Verbatim mode keeps the older pipeline's exact whitespace around the wrapper.
    """
    if mode is BodyMode.VERBATIM:
        return f"\n<div>   \n{body}  \n</div>\n            "
    return f"\n<div>\n{body}\n</div>\n"
