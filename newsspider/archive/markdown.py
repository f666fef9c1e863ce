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
* U+3000 (the ideographic space of Sina's ``　　`` paragraph indent) and U+00A0 (``&nbsp;``),
  which the converter would take for space and drop at the edge of a block: U+3000 stays
  itself (Markdown indents with spaces and tabs only, so it never makes a code block), as
  ``&#12288;`` in table rows and headings (whose cells and text marked trims of it);
* a noncharacter already in the text is kept as itself.

The converter escapes what depends on where a line starts (``#``, ``+``, ``-``, ``=``,
``1.``). ``{`` and ``}`` are written ``&#123;``/``&#125;`` everywhere, URLs too, as in the
other modes: Hexo runs post bodies through Nunjucks, and marked passes the references through.
"""

from __future__ import annotations

import re
import unicodedata

import html_to_markdown

# The converter's options, built once: turning them into the converter's own options object is
# a fifth of a call's cost.
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
    # The clean body removed what a reader does not see; keep whatever is left.
    hidden_content="all",
    # Markdown has no syntax for these. Code is kept as HTML too: inside a code span or block
    # Markdown shows escapes as they are written, and the text is escaped.
    preserve_tags=["sup", "sub", "u", "ins", "q", "pre", "code", "kbd", "samp", "tt"]
    # Emphasis that `*` cannot open or close where it stands (see _emphasis_kept_as_html).
    + [f"md-keep-{tag}" for tag in ("strong", "b", "em", "i")],
    preprocessing=html_to_markdown.PreprocessingOptions(enabled=False),
)

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
_PLACE = str.maketrans(
    {char: chr(0xFDD0 + index) for index, char in enumerate(_BACKSLASH_ESCAPED)}
    | {"\u00a0": _NBSP, "\u3000": _IDEOGRAPHIC_SPACE, "'": _APOSTROPHE, '"': _QUOTE}
)

_IN_TEXT = re.compile(
    "|".join(
        [
            f"(?P<keep>{_NONCHARACTERS})",
            r"(?P<lt>&lt;)",
            r"(?P<gt>&gt;)",
            r"(?P<nbsp>&nbsp;)",
            # `&amp;` decodes to `&`; escaped again only where it would start a reference.
            r"(?P<amp>&amp;)(?=#?[A-Za-z0-9]+;)",
            r"(?i:https?|ftp)(?P<colon>:)(?=//)",
            r"(?i:www)(?P<dot>\.)",
            r"(?<=[A-Za-z0-9._+-])(?P<at>@)(?=[A-Za-z0-9_-]+\.)",
            # Hexo's marked writes `--`, `---` and `...` as dashes and an ellipsis (smartypants).
            r"(?<=-)(?P<hyphen>-)",
            r"(?<=\.\.)(?P<ellipsis>\.)",
            # A `:` that starts a line after a line break makes Hexo's marked write the paragraph
            # as a description list, the colon dropped.
            r"^[ \t\n\r\f]*(?P<colon_first>:)",
        ]
    )
)
_BY_GROUP = {
    "lt": _LT,
    "gt": _GT,
    "nbsp": _NBSP,
    "amp": _AMP,
    "colon": _COLON,
    "dot": _DOT,
    "at": _AT,
    "hyphen": _HYPHEN,
    "ellipsis": _DOT,
    "colon_first": _COLON,
}
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


def _placed(match: re.Match[str]) -> str:
    group = match.lastgroup
    if group == "keep":
        return _KEEP + match.group(0)
    assert group is not None
    start, end = match.span(group)
    whole = match.group(0)
    at = match.start(0)
    return whole[: start - at] + _BY_GROUP[group] + whole[end - at :]


# In HTML a line break in text is space; the converter would keep it, and Markdown would read a
# `#`, `-`, `>` or `1.` after it as the start of a block.
_LINE_BREAKING_SPACE = re.compile(r"[ \t\f]*[\n\r][ \t\n\r\f]*")
_VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr"})
# The converter drops what is nested deeper than about 1,020 elements; past this depth elements
# are written as their content alone (the clean body keeps up to 2048: see body.py).
MAX_DEPTH = 256


def _protect_text(text: str, preformatted: bool) -> str:
    if not preformatted:
        text = _LINE_BREAKING_SPACE.sub(" ", text)
    text = _IN_TEXT.sub(_placed, text)
    # Every placeholder from here on is one of ours: _KEEP marks those of the text.
    return text.translate(_PLACE)


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


def _restored(markdown: str) -> str:
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


def _edge(parts: list[str], tags: list[tuple[bool, str]], start: int, stop: int) -> str:
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
            name = tags[index // 2][1]
            if name in _INLINE:
                return _PUNCTUATION
            if name not in _WRITES_NOTHING and name not in _EMPHASIS:
                return _SPACE
        index += step
    return _SPACE


def _inner_edge(
    parts: list[str], tags: list[tuple[bool, str]], start: int, stop: int
) -> tuple[str, bool]:
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
            name = tags[index // 2][1]
            if name in _INLINE:
                return _PUNCTUATION, moved
            if name not in _WRITES_NOTHING and name not in _EMPHASIS:
                return _SPACE, moved
        index += step
    return _NOTHING, moved


def _keep_emphasis_as_html(parts: list[str]) -> None:
    """Rename, in ``parts`` (:data:`_TAG`'s split of the body), the emphasis tags whose
    asterisks would not open or close where they stand to tags the converter keeps as HTML."""
    tags = []
    for tag in parts[1::2]:
        match = _TAG_NAME.match(tag)
        tags.append((bool(match.group(1)), match.group(2).lower()) if match else (False, ""))
    open_at: list[int] = []
    for position, (closing, name) in enumerate(tags):
        if name not in _EMPHASIS:
            continue
        index = 2 * position + 1
        if not closing:
            open_at.append(index)
            continue
        if not open_at:
            continue
        start = open_at.pop()
        first, space_before = _inner_edge(parts, tags, start + 1, index)
        last, space_after = _inner_edge(parts, tags, index - 1, start)
        before = _SPACE if space_before else _edge(parts, tags, start - 1, -1)
        after = _SPACE if space_after else _edge(parts, tags, index + 1, len(parts))
        if first == _NOTHING:
            continue
        opens = first == _WORD or (first == _PUNCTUATION and before != _WORD)
        closes = last == _WORD or (last == _PUNCTUATION and after != _WORD)
        if not (opens and closes):
            parts[start] = f"<md-keep-{name}>"
            parts[index] = f"</md-keep-{name}>"


def to_markdown(sanitized: str) -> str:
    """The Markdown of ``sanitized``, the clean body as nh3 wrote it; braces escaped, no
    leading or trailing blank lines (``''`` when nothing is left)."""
    parts = _TAG.split(sanitized)
    _keep_emphasis_as_html(parts)
    open_tags: list[tuple[str, bool]] = []  # each open element: its name, whether it is written
    preformatted = 0
    for index, part in enumerate(parts):
        if index % 2 == 0:
            if part:
                parts[index] = _protect_text(part, preformatted > 0)
            continue
        match = _TAG_NAME.match(part)
        if match is None:
            continue
        name = match.group(2).lower()
        if name in _VOID:
            continue
        if not match.group(1):
            written = len(open_tags) < MAX_DEPTH
            open_tags.append((name, written))
        elif open_tags and open_tags[-1][0] == name:
            written = open_tags.pop()[1]
        else:
            continue
        if not written:
            parts[index] = ""
        elif name == "pre":
            preformatted += -1 if match.group(1) else 1
    result = html_to_markdown.convert("".join(parts), _OPTIONS)
    markdown = _KEPT_EMPHASIS.sub(r"<\1\2>", _restored(result.content or ""))
    markdown = _TRIMMED_LINE.sub(lambda line: line.group(0).replace("\u3000", "&#12288;"), markdown)
    return markdown.replace("{", "&#123;").replace("}", "&#125;").strip("\n")
