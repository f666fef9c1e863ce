"""The archive's front matter style, as a python-frontmatter handler.

Posts look like this, byte for byte (note the blank line before the opening ``---``)::

    (blank line)
    ---
    title: '工信部：全力稳定工业经济增长'
    categories:
     - 金融
     - 新浪财经
     - 新浪财经－国內
    headimg: 'https://n.sinaimg.cn/….jpg'
    author: 新浪财经
    comments: false
    date: Mon, 13 Dec 2021 07:34:10 GMT
    thumbnail: 'https://n.sinaimg.cn/….jpg'
    ---
    (content)
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

# Outside YAML's printable set, plus U+2028/U+2029, which YAML 1.1 parsers read as line breaks.
_NOT_PRINTABLE = re.compile(
    "[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_PLAIN_SAFE = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#\n]*(?<!\s)$")


def _escape_char(char: str) -> str:
    named = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0", "\x85": "\\N"}
    if char in named:
        return named[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def yaml_quote(value: str) -> str:
    """``'value'``, or a double-quoted scalar with escapes when ``value`` holds ``'`` or a
    character that a single-quoted scalar cannot carry. Parses back to exactly ``value``."""
    if "'" not in value and not _NOT_PRINTABLE.search(value):
        return f"'{value}'"
    body = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{_NOT_PRINTABLE.sub(lambda m: _escape_char(m.group()), body)}"'


@lru_cache(maxsize=1024)
def yaml_plain(value: str) -> str:
    """``value`` as a plain scalar when that reads back as the same string, else quoted.

    (Cached: the values written plain, categories and authors, repeat from post to post.)
    """
    if _PLAIN_SAFE.match(value) and not _NOT_PRINTABLE.search(value):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return yaml_quote(value)


class HexoFrontMatter(YAMLHandler):
    """Writes the archive's front matter style; reads any YAML front matter."""

    def export(self, metadata: dict[str, object], **kwargs: object) -> str:
        lines = []
        for key, value in metadata.items():
            if isinstance(value, list | tuple):
                lines.append(f"{key}: ")
                lines.extend(f" - {yaml_plain(str(entry))}" for entry in value)
            elif isinstance(value, bool):
                lines.append(f"{key}: {'true' if value else 'false'}")
            elif isinstance(value, Raw):
                lines.append(f"{key}: {value.text}")
            elif isinstance(value, Plain):
                lines.append(f"{key}: {yaml_plain(value.text)}")
            else:
                lines.append(f"{key}: {yaml_quote(str(value))}")
        return "\n".join(lines)

    def format(self, post: frontmatter.Post, **kwargs: object) -> str:
        metadata = self.export(post.metadata)
        return f"\n---\n{metadata}\n---\n{post.content}"


class Raw:
    """A front matter value written as is (already valid YAML)."""

    def __init__(self, text: str) -> None:
        self.text = text


class Plain:
    """A front matter value written as a plain scalar when that is safe."""

    def __init__(self, text: str) -> None:
        self.text = text


def render_front_matter(metadata: dict[str, Any], content: str) -> str:
    """A whole post: front matter from ``metadata`` (in order) followed by ``content``."""
    post = frontmatter.Post(content, handler=HexoFrontMatter(), **metadata)
    return str(frontmatter.dumps(post))


def read_front_matter(text: str) -> dict[str, Any]:
    """The front matter of a post in the archive style (or any YAML front matter)."""
    metadata, _content = frontmatter.parse(text, handler=HexoFrontMatter())
    return dict(metadata)


def split_post(text: str) -> tuple[dict[str, Any], str]:
    """The front matter and the content of a post; ``ValueError`` when its front matter does
    not load (invalid YAML, or not a mapping)."""
    try:
        metadata, content = frontmatter.parse(text, handler=HexoFrontMatter())
    except Exception as exc:  # yaml's errors, and what a hostile file makes the parser raise
        raise ValueError(f"the front matter does not load: {exc}") from None
    if not isinstance(metadata, dict):
        raise ValueError("the front matter is not a mapping")
    return dict(metadata), str(content)
