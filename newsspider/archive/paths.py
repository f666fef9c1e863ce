"""Where a post goes: its folder from the categories, its name from the title, and which name
to take when a file or another article already holds it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import yaml

from newsspider.archive.front_matter import read_front_matter
from newsspider.archive.naming import (
    POST_SUFFIX,
    category_dirs,
    docid_token,
    legacy_stem,
    legacy_title,
    post_filename,
)
from newsspider.sina.dates import rfc1123

# Who holds a post path (relative, POSIX): the URL of the article the index has there, or None.
OwnerLookup = Callable[[str], "str | None"]


def same_article(path: Path, title: str, date: datetime) -> bool:
    """True when the post at ``path`` is this article (same title and date).

    Posts by the older pipeline carry its lossy title (``:`` and friends as ``_``); they count
    as the same article too.
    """
    try:
        metadata = read_front_matter(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return False
    existing_title = str(metadata.get("title", ""))
    existing_date = str(metadata.get("date", ""))
    titles = {title, legacy_title(title)}
    return existing_title in titles and existing_date == rfc1123(date)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a legacy name too long for the file system, or with NUL
        return False


class PostPaths:
    """Assigns archive paths, never giving one path to two articles.

    ``owner_of`` says which article the index already has at a path; paths given out in this
    run are remembered too. A post already on disk that nobody owns is adopted when it is the
    same article, under our name or under the name the older pipeline gave it.
    """

    def __init__(self, root: Path, owner_of: OwnerLookup | None = None) -> None:
        self.root = root
        self._owner_of = owner_of or (lambda _path: None)
        self._given: dict[str, str] = {}

    def _owner(self, relative: str) -> str | None:
        return self._given.get(relative) or self._owner_of(relative)

    def _take(self, relative: str, url: str) -> str:
        self._given[relative] = url
        return relative

    def assign(
        self, *, url: str, docid: str | None, title: str, date: datetime, categories: list[str]
    ) -> str:
        """The relative path for this article (see the class docstring)."""
        folder = category_dirs(categories)
        plain = (folder / post_filename(title)).as_posix()
        legacy = (folder / (legacy_stem(title) + POST_SUFFIX)).as_posix()
        seen: dict[str, tuple[str | None, bool]] = {}  # candidate: (owner, unowned file on disk)
        for candidate in dict.fromkeys([plain, legacy]):
            owner = self._owner(candidate)
            on_disk = owner is None and _is_file(self.root / candidate)
            seen[candidate] = (owner, on_disk)
            if owner == url:
                return self._take(candidate, url)
            if on_disk and same_article(self.root / candidate, title, date):
                return self._take(candidate, url)
        owner, on_disk = seen[plain]
        if owner is None and not on_disk:
            return self._take(plain, url)
        return self._take((folder / post_filename(title, docid_token(docid, url))).as_posix(), url)
