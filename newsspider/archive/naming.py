"""Post file names and archive paths.

The older pipeline named a post after its title with ASCII ``: / \\ ? * < > | [ ]`` and
``“ ”`` replaced by ``_`` and ``#``, ``.`` and line breaks removed; existing archives use those
names, so we do too. On top of that every name must load in Hexo: ``%`` breaks Hexo's URI
decoding, so it becomes ``％``, and Hexo skips names that start with ``_`` or ``.``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import PurePosixPath

MAX_NAME_BYTES = 255
POST_SUFFIX = ".md"

_LEGACY_UNDERSCORE = str.maketrans(dict.fromkeys(":/\\?*<>|[]“”", "_"))
_LEGACY_REMOVED = re.compile(r"[#.\r\n]")
# Characters a file name must not carry: controls (Cc), format characters (Cf: bidi overrides,
# zero-width spaces and joiners, the BOM, the soft hyphen), surrogates (Cs), line and paragraph
# separators (Zl, Zp), and the fillers that render as nothing (Hangul fillers).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_INVISIBLE_EXTRA = frozenset("\u115f\u1160\u3164\uffa0")
_LEADING_HIDDEN = re.compile(r"^[_.]+")


def legacy_title(title: str) -> str:
    """The title as the older pipeline wrote it in front matter: ``: / \\ ? * < > | [ ] “ ”``
    replaced by ``_`` (it lost text; newsspider writes the exact title)."""
    return title.translate(_LEGACY_UNDERSCORE)


def legacy_stem(title: str) -> str:
    """The file name (without ``.md``) the older pipeline gave a post with this title."""
    return _LEGACY_REMOVED.sub("", legacy_title(title))


def _fit(stem: str, suffix: str, limit: int) -> str:
    budget = limit - len(suffix.encode())
    encoded = stem.encode()
    if len(encoded) <= budget:
        return stem + suffix
    return encoded[:budget].decode(errors="ignore").rstrip() + suffix


def docid_token(docid: str | None, url: str) -> str:
    """A short, file-name-safe identifier of the article (``lasorkf8164852``)."""
    if docid:
        token = docid.rpartition(":")[2]
    else:
        token = PurePosixPath(url.split("?")[0]).stem.removeprefix("doc-").removeprefix("detail-")
    token = re.sub(r"[^0-9A-Za-z_-]", "", token)
    return token or "article"


def visible(text: str) -> str:
    """``text`` without the characters a file name must not carry (see above)."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        c
        for c in text
        if c not in _INVISIBLE_EXTRA and unicodedata.category(c) not in _INVISIBLE_CATEGORIES
    )


def post_filename(title: str, disambiguator: str | None = None) -> str:
    """The post's file name: the legacy rule, made safe for Hexo, cut to 255 bytes.

    ``disambiguator`` (the docid token) is appended when another article holds the plain name.
    Never empty, never hidden, never a path.
    """
    stem = visible(legacy_stem(title)).replace("%", "％").strip()
    stem = _LEADING_HIDDEN.sub(lambda m: "＿" * len(m.group()), stem)
    if not stem:
        stem = "untitled"
    suffix = f"-{disambiguator}{POST_SUFFIX}" if disambiguator else POST_SUFFIX
    return _fit(stem, suffix, MAX_NAME_BYTES)


def category_dirs(categories: Sequence[str]) -> PurePosixPath:
    """The folder a post of these categories lives in, relative to the archive root."""
    return _category_dirs(tuple(categories))


@lru_cache(maxsize=64)  # a crawl has a dozen channels, each with its categories
def _category_dirs(categories: tuple[str, ...]) -> PurePosixPath:
    return PurePosixPath(*(post_filename(c).removesuffix(POST_SUFFIX) for c in categories))
