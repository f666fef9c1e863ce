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

# ``<name>-<docid>-N`` names tried before giving up (only titles built to collide get past 2).
_MAX_ATTEMPTS = 1000

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
        """The relative path for this article (see the class docstring).

        The candidates, in order: the plain name, the older pipeline's name (adopted only when
        it holds this article), then ``<name>-<docid>``, ``<name>-<docid>-2``, … Every one is
        checked against the index, the paths given out in this run and the disk, so no name is
        ever given to a second article, whatever the titles.
        """
        folder = category_dirs(categories)
        plain = (folder / post_filename(title)).as_posix()
        legacy = (folder / (legacy_stem(title) + POST_SUFFIX)).as_posix()
        free: list[str] = []
        for candidate in dict.fromkeys([plain, legacy]):
            state = self._state(candidate, url, title, date)
            if state == "ours":
                return self._take(candidate, url)
            if state == "free":
                free.append(candidate)
        if plain in free:
            return self._take(plain, url)
        token = docid_token(docid, url)
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            tag = token if attempt == 1 else f"{token}-{attempt}"
            candidate = (folder / post_filename(title, tag)).as_posix()
            if self._state(candidate, url, title, date) in ("ours", "free"):
                return self._take(candidate, url)
        raise RuntimeError(f"no free post name for {url} after {_MAX_ATTEMPTS} attempts")

    def _state(self, candidate: str, url: str, title: str, date: datetime) -> str:
        """``ours`` (this article holds it, in the index or on disk), ``free``, or ``taken``."""
        owner = self._owner(candidate)
        if owner is not None:
            return "ours" if owner == url else "taken"
        path = self.root / candidate
        if not _is_file(path):
            return "free"
        return "ours" if same_article(path, title, date) else "taken"
