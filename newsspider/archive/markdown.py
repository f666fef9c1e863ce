"""The clean body as Markdown (``ARCHIVE_BODY=markdown``).

:func:`to_markdown` takes the clean body as nh3 wrote it (clean mode of
:func:`newsspider.archive.body.render_body`, before its layout and brace escapes) and converts
it with html-to-markdown, so a Markdown post keeps exactly what a clean post keeps:
paragraphs, headings, bold and italic, links, pictures (``![alt](url)``), lists, block quotes
and GFM tables (a cell spanning rows or columns is written in the first place it covers, the
others left empty). Raw HTML is left only where Markdown has no syntax: ``<sup>``, ``<sub>``,
``<u>``, ``<ins>``, ``<q>``, and code (``<pre>``, ``<code>``, ``<kbd>``, ``<samp>``, ``<tt>``),
whose text a code span or block would show with its escapes.

The article's text is escaped by this module, not by the converter, so that Hexo's renderer
(marked, with GFM) shows it exactly as the clean post does. Before the conversion each character
that means something to Markdown, to marked's GFM extensions or to the converter's whitespace
rules is replaced, in text only (never in a URL or another attribute), by a Unicode
noncharacter (U+FDD0…U+FDEE, which Unicode keeps for such internal use), and after it by its
escaped form:

* ``\\`` ``*`` ``_`` `````` ``[`` ``]`` ``~`` ``|``: a backslash escape (``\\*``);
* ``<`` and ``>``: ``&lt;`` / ``&gt;`` (never ``\\<``: a post's ``<img`` is then always a
  picture, see :mod:`newsspider.archive.pictures`); ``&`` that would start a character
  reference (``&amp;``, ``&#123;``): ``&amp;``;
* what marked would turn into a link although the clean post shows text (GFM autolinks):
  ``http://``, ``https://``, ``ftp://`` (``&#58;`` for the colon), ``www.`` (``&#46;``) and
  the ``@`` of an e-mail address (``&#64;``);
* what Hexo's marked changes in text by its defaults: ``'`` and ``"`` (``&#39;``, ``&quot;``:
  smartypants would curl them), every ``-`` of a ``--`` run after the first and every ``.`` of
  a ``...`` run after the second (dashes, an ellipsis), and a ``:`` that starts a text (after a
  line break it would make the paragraph a description list);
* U+3000 (the ideographic space of Sina's ``　　`` paragraph indent) and U+00A0 (``&nbsp;``),
  which the converter would take for space and drop at the edge of a block: U+3000 stays
  itself (Markdown indents with spaces and tabs only, so it never makes a code block), as
  ``&#12288;`` in table rows and headings (whose cells and text marked trims of it);
* a noncharacter already in the text is kept as itself.

A line break in the HTML text is a space (the converter would keep it, and a ``#`` or ``-``
after it would start a block). The converter escapes what depends on where a line starts
(``#``, ``+``, ``-``, ``=``, ``1.``). Bold and italic that ``*`` cannot mark where they stand
(CommonMark's flanking rule: ``文字**“引号”**文字`` stays asterisks) stay HTML, and a table's
``<caption>`` is an italic paragraph before it.

``{`` and ``}`` are written ``&#123;``/``&#125;`` everywhere, URLs too, as in the other modes:
Hexo runs post bodies through Nunjucks, and marked passes the references through.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import html_to_markdown
from html_to_markdown import _html_to_markdown as _converter  # the extension module itself
from html_to_markdown.api import _to_rust_conversion_options

# The converter's options. html_to_markdown.convert() turns them into the extension's own options
# object on every call (0.05 ms): that is done once here, and the extension's convert() called
# with it.
_OPTIONS = html_to_markdown.ConversionOptions(
    heading_style="atx",
    bullets="-",
    strong_em_symbol="*",
    # Text arrives escaped (see the module docstring); these escape what is left: image alt
    # texts and titles.
    escape_asterisks=True,
    escape_underscores=True,
    escape_misc=False,
    autolinks=False,
    expand_abbreviations=False,
    include_blockquote_citations=False,
    highlight_style="html",
    extract_metadata=False,
    whitespace_mode="normalized",
    compact_tables=True,
    # What the converter takes for hidden (the `hidden` attribute, `display: none`, <template>,
    # <noscript>) the clean body has none of: nh3 keeps none of those attributes, and clean mode
    # removed those elements and what they held.
    hidden_content="drop",
    # Markdown has no syntax for these. Code is kept as HTML too: inside a code span or block
    # Markdown shows escapes as they are written, and the text is escaped.
    preserve_tags=["sup", "sub", "u", "ins", "q", "pre", "code", "kbd", "samp", "tt"]
    # Emphasis that `*` cannot open or close where it stands (see _keep_emphasis_as_html).
    + [f"md-keep-{tag}" for tag in ("strong", "b", "em", "i")],
    preprocessing=html_to_markdown.PreprocessingOptions(enabled=False),
)
_NATIVE_OPTIONS = _to_rust_conversion_options(_OPTIONS)

# nh3 writes every attribute value in double quotes (with `"` escaped inside), and `<` in text as
# `&lt;`: a tag is `<` up to the first `>` outside quotes, and everything else is text.
_TAG = re.compile(r'(<[^>"]*(?:"[^"]*"[^>"]*)*>)')

_NONCHARACTERS = "[\ufdd0-\ufdef]"
_KEEP = "\ufdef"  # before a noncharacter of the text: that character itself
# Placeholder -> what it stands for in the Markdown.
_BACKSLASH_ESCAPED = "\\`*_[]~|"
_RESTORE: dict[str, str] = {
    chr(0xFDD0 + index): "\\" + char for index, char in enumerate(_BACKSLASH_ESCAPED)
}
_LT, _GT, _AMP, _COLON, _DOT, _AT, _NBSP, _IDEOGRAPHIC_SPACE, _APOSTROPHE, _QUOTE, _HYPHEN = (
    chr(0xFDD0 + len(_BACKSLASH_ESCAPED) + index) for index in range(11)
)
_RESTORE.update(
    {
        _LT: "&lt;",
        _GT: "&gt;",
        _AMP: "&amp;",
        _COLON: "&#58;",
        _DOT: "&#46;",
        _AT: "&#64;",
        _NBSP: "&nbsp;",
        _IDEOGRAPHIC_SPACE: "\u3000",
        _APOSTROPHE: "&#39;",
        _QUOTE: "&quot;",
        _HYPHEN: "&#45;",
    }
)
assert max(map(ord, _RESTORE)) < ord(_KEEP)
# Each character escaped wherever it stands in text, to its placeholder.
_PLACE = {char: chr(0xFDD0 + index) for index, char in enumerate(_BACKSLASH_ESCAPED)} | {
    "\u00a0": _NBSP,
    "\u3000": _IDEOGRAPHIC_SPACE,
    "'": _APOSTROPHE,
    '"': _QUOTE,
}
# The references in nh3's text that stand for characters Markdown reads.
_ENTITIES = {"&lt;": _LT, "&gt;": _GT, "&nbsp;": _NBSP}
# What needs its context; each pattern starts with a literal, which lets the regex engine skip
# the rest of the text at C speed.
_CONTEXTUAL = [
    # `&amp;` decodes to `&`; escaped again only where it would start a reference.
    (re.compile(r"&amp;(?=#?[A-Za-z0-9]+;)"), _AMP),
    # What marked's GFM would make a link of: http://, https://, ftp://, www., a@b.c.
    (
        re.compile(
            r":(?=//)(?:(?<=[Hh][Tt][Tt][Pp]:)|(?<=[Hh][Tt][Tt][Pp][Ss]:)|(?<=[Ff][Tt][Pp]:))"
        ),
        _COLON,
    ),
    (re.compile(r"\.(?<=[Ww][Ww][Ww]\.)"), _DOT),
    (re.compile(r"@(?<=[A-Za-z0-9._+-]@)(?=[A-Za-z0-9_-]+\.)"), _AT),
]
# ... and Hexo's marked writes `--`, `---` and `...` as dashes and an ellipsis (smartypants):
# (pattern, characters of a run kept, placeholder of the others).
_RUNS = [(re.compile(r"--+"), 1, _HYPHEN), (re.compile(r"\.\.\.+"), 2, _DOT)]
# A `:` that starts a line after a line break makes Hexo's marked write the paragraph as a
# description list, the colon dropped: escaped at the start of every text.
_COLON_FIRST = re.compile(r"\x00([ \t\n\r\f]*):")
_NONCHARACTER = re.compile(_NONCHARACTERS)
_RESTORABLE = re.compile(f"{_KEEP}({_NONCHARACTERS})|{_NONCHARACTERS}")
# A <pre> that starts a line is an HTML block, which Markdown passes on as it is: its text is
# HTML, escaped as such already, so the placeholders there stand for the characters themselves.
_PRE_BLOCK = re.compile(r"^([ \t]*<pre\b.*?</pre>)", re.M | re.S)
_RAW: dict[str, str] = {
    placeholder: markdown[1:] if markdown.startswith("\\") else markdown
    for placeholder, markdown in _RESTORE.items()
}
# A table row or a heading: marked trims their text of every Unicode space.
_TRIMMED_LINE = re.compile(r"^[|#].*$", re.M)


# Joins the texts of a body while they are escaped: a C0 control an HTML parser never leaves in
# text (it writes U+FFFD for it).
_SEPARATOR = "\x00"
_PRE_START = re.compile(r"<pre\b", re.I)
_PRE_END = re.compile(r"</pre\s*>", re.I)
MAX_DEPTH = 256
"""How deep the body given to :func:`to_markdown` may nest elements: the converter drops what is
nested deeper than about 1,020 (the clean body keeps up to 2048 levels)."""


def _run_escaped(kept: int, placeholder: str) -> Callable[[re.Match[str]], str]:
    def escaped(run: re.Match[str]) -> str:
        length = len(run.group(0))
        return run.group(0)[:kept] + placeholder * (length - kept)

    return escaped


def _protect(text: str) -> str:
    """``text`` (texts joined by :data:`_SEPARATOR`) with placeholders for what is escaped."""
    if _NONCHARACTER.search(text):
        # Every placeholder from here on is one of ours: _KEEP marks those of the text.
        text = _NONCHARACTER.sub(lambda match: _KEEP + match.group(0), text)
    for pattern, kept, placeholder in _RUNS:
        text = pattern.sub(_run_escaped(kept, placeholder), text)
    for pattern, placeholder in _CONTEXTUAL:
        text = pattern.sub(placeholder, text)
    if ":" in text:
        text = _COLON_FIRST.sub(f"\x00\\1{_COLON}", _SEPARATOR + text)[1:]
    for entity, placeholder in _ENTITIES.items():
        text = text.replace(entity, placeholder)
    for char, placeholder in _PLACE.items():
        text = text.replace(char, placeholder)
    return text


def _restore(match: re.Match[str]) -> str:
    kept = match.group(1)
    if kept is not None:
        return kept
    return _RESTORE[match.group(0)]


def _restore_raw(match: re.Match[str]) -> str:
    kept = match.group(1)
    if kept is not None:
        return kept
    return _RAW[match.group(0)]


def _replaced(markdown: str) -> str:
    """Every placeholder of ``markdown`` (with no :data:`_KEEP`) replaced by what it stands for:
    one pass per placeholder the text holds is cheaper than a call per placeholder."""
    for placeholder, replacement in _RESTORE.items():
        if placeholder in markdown:
            markdown = markdown.replace(placeholder, replacement)
    return markdown


def _restored(markdown: str) -> str:
    if "<pre" not in markdown:
        if _KEEP not in markdown:
            return _replaced(markdown)
        return _RESTORABLE.sub(_restore, markdown)
    parts = _PRE_BLOCK.split(markdown)
    parts[::2] = [_RESTORABLE.sub(_restore, part) for part in parts[::2]]
    parts[1::2] = [_RESTORABLE.sub(_restore_raw, part) for part in parts[1::2]]
    return "".join(parts)


# Emphasis: Markdown's `*` opens only before a character that is neither space nor punctuation,
# or before punctuation when the character before it is space or punctuation too (and closes
# the other way round): so `文字**“引号”**文字`, common in Chinese text, stays asterisks. Such
# emphasis is kept as HTML. What the converter writes at a tag's place decides, for the
# characters around the asterisks: a link, a picture or raw HTML starts and ends with
# punctuation, a line break or block is space, these tags write nothing.
_EMPHASIS = frozenset({"strong", "b", "em", "i"})
_WRITES_NOTHING = frozenset(
    {"span", "small", "big", "abbr", "acronym", "bdi", "bdo", "cite", "data", "dfn", "time"}
)
_INLINE = frozenset(
    {"a", "img", "sup", "sub", "u", "ins", "q", "code", "kbd", "samp", "tt", "var", "mark"}
    | {"s", "del", "strike"}
)
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_WORD, _PUNCTUATION, _SPACE, _NOTHING = "word", "punctuation", "space", "nothing"
_KEPT_EMPHASIS = re.compile(r"<(/?)md-keep-(strong|b|em|i)>")


def _kind(char: str) -> str:
    if char.isspace():
        return _SPACE
    if unicodedata.category(char)[0] in "PS":
        return _PUNCTUATION
    return _WORD


_ASCII_SPACE = " \t\n\r\f"


def _name(tag: str) -> str:
    match = _TAG_NAME.match(tag)
    return match.group(2).lower() if match else ""


def _edge(parts: list[str], start: int, stop: int) -> str:
    """The kind of the first character the converter writes from ``parts[start]`` towards
    ``parts[stop]`` (excluded; the end of the body when it is out of range), ``space`` when it
    writes none."""
    step = 1 if start < stop else -1
    index = start
    while index != stop and 0 <= index < len(parts):
        if index % 2 == 0:
            text = parts[index]
            if text:
                return _kind(text[0] if step > 0 else text[-1])
        else:
            name = _name(parts[index])
            if name in _INLINE:
                return _PUNCTUATION
            if name not in _WRITES_NOTHING and name not in _EMPHASIS:
                return _SPACE
        index += step
    return _SPACE


def _inner_edge(parts: list[str], start: int, stop: int) -> tuple[str, bool]:
    """:func:`_edge` inside an emphasis, from one of its tags to the other, past the ASCII
    space the converter moves outside the emphasis (``nothing`` when that is all: the converter
    writes no delimiters then); and whether there was such space (its delimiters then stand next
    to it)."""
    step = 1 if start < stop else -1
    index = start
    moved = False
    while index != stop:
        if index % 2 == 0:
            text = parts[index]
            kept = text.lstrip(_ASCII_SPACE) if step > 0 else text.rstrip(_ASCII_SPACE)
            moved = moved or len(kept) < len(text)
            if kept:
                return _kind(kept[0] if step > 0 else kept[-1]), moved
        else:
            name = _name(parts[index])
            if name in _INLINE:
                return _PUNCTUATION, moved
            if name not in _WRITES_NOTHING and name not in _EMPHASIS:
                return _SPACE, moved
        index += step
    return _NOTHING, moved


# nh3 writes these tags with no attributes, in lower case.
_EMPHASIS_TAGS = {f"<{slash}{name}>": name for name in _EMPHASIS for slash in ("", "/")}
_ANY_EMPHASIS = re.compile(r"<(?:strong|b|em|i)>")


def _keep_emphasis_as_html(parts: list[str]) -> None:
    """Rename, in ``parts`` (:data:`_TAG`'s split of the body), the emphasis tags whose
    asterisks would not open or close where they stand to tags the converter keeps as HTML."""
    open_at: list[int] = []
    for index in range(1, len(parts), 2):
        name = _EMPHASIS_TAGS.get(parts[index])
        if name is None:
            continue
        if parts[index][1] != "/":
            open_at.append(index)
            continue
        if not open_at:
            continue
        start = open_at.pop()
        first, space_before = _inner_edge(parts, start + 1, index)
        if first == _NOTHING:
            continue
        last, space_after = _inner_edge(parts, index - 1, start)
        before = _SPACE if space_before else _edge(parts, start - 1, -1)
        after = _SPACE if space_after else _edge(parts, index + 1, len(parts))
        opens = first == _WORD or (first == _PUNCTUATION and before != _WORD)
        closes = last == _WORD or (last == _PUNCTUATION and after != _WORD)
        if not (opens and closes):
            parts[start] = f"<md-keep-{name}>"
            parts[index] = f"</md-keep-{name}>"


def _in_pre(parts: list[str]) -> list[int]:
    """The indexes of the texts of ``parts`` inside a ``<pre>``."""
    inside = []
    depth = 0
    for index, part in enumerate(parts):
        if index % 2 == 0:
            if depth and part:
                inside.append(index)
        elif _PRE_START.match(part):
            depth += 1
        elif depth and _PRE_END.match(part):
            depth -= 1
    return inside


def _captions_before_tables(parts: list[str]) -> None:
    """Move each table's ``<caption>`` in ``parts`` (:data:`_TAG`'s split) before its table, as
    an italic paragraph. The converter writes a caption as `*…*` itself, which `*` cannot mark
    when it starts or ends with space; as ``<em>`` it is emphasis like any other
    (:func:`_keep_emphasis_as_html`)."""
    index = 1
    while index < len(parts):
        if parts[index] != "<caption>":
            index += 2
            continue
        table = next((i for i in range(index - 2, 0, -2) if parts[i].startswith("<table")), None)
        end = next((i for i in range(index + 2, len(parts), 2) if parts[i] == "</caption>"), None)
        if table is None or end is None:
            index += 2
            continue
        # Tags at odd places, texts at even ones: the paragraph starts with a tag, ends with text.
        paragraph = ["<p>", "", "<em>", *parts[index + 1 : end], "</em>", "", "</p>", ""]
        parts[index : end + 1] = [""] * (end + 1 - index)
        parts[table:table] = paragraph
        index = end + 2 + len(paragraph)


def to_markdown(sanitized: str) -> str:
    """The Markdown of ``sanitized``, the clean body as nh3 wrote it, nested at most
    :data:`MAX_DEPTH` elements deep; braces escaped, no leading or trailing blank lines
    (``''`` when nothing is left)."""
    parts = _TAG.split(sanitized.replace(_SEPARATOR, "\ufffd"))
    if "<caption>" in sanitized:
        _captions_before_tables(parts)
    if "<caption>" in sanitized or _ANY_EMPHASIS.search(sanitized):
        _keep_emphasis_as_html(parts)
    preformatted = {index: parts[index] for index in _in_pre(parts)} if "<pre" in sanitized else {}
    # In HTML a line break in text is space; the converter would keep it, and Markdown would
    # read a `#`, `-`, `>` or `1.` after it as the start of a block. The texts are escaped
    # together, at C speed: most bodies hold more than a thousand of them.
    texts = _SEPARATOR.join(parts[::2]).replace("\n", " ").replace("\r", " ")
    parts[::2] = _protect(texts).split(_SEPARATOR)
    for index, text in preformatted.items():
        parts[index] = _protect(text)  # line breaks and all
    result = _converter.convert("".join(parts), _NATIVE_OPTIONS)
    markdown = _restored(result.content or "")
    if "md-keep-" in markdown:
        markdown = _KEPT_EMPHASIS.sub(r"<\1\2>", markdown)
    markdown = _TRIMMED_LINE.sub(lambda line: line.group(0).replace("\u3000", "&#12288;"), markdown)
    return markdown.replace("{", "&#123;").replace("}", "&#125;").strip("\n")
