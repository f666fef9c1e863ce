"""Where a post goes: its folder from the categories, its name from the title, and which name
to take when another article already holds it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml

from newsspider.archive.front_matter import read_front_matter
from newsspider.archive.naming import category_dirs, docid_token, post_filename
from newsspider.sina.dates import rfc1123

_LEGACY_TITLE = str.maketrans(dict.fromkeys(":/\\?*“”<>|[]", "_"))


def _same_article(path: Path, title: str, date: datetime) -> bool:
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
    titles = {title, title.translate(_LEGACY_TITLE)}
    return existing_title in titles and existing_date == rfc1123(date)


class PostPaths:
    """Assigns archive paths for one run, never giving one path to two articles."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._owners: dict[Path, str] = {}

    def assign(
        self, *, url: str, docid: str | None, title: str, date: datetime, categories: list[str]
    ) -> Path:
        """The path for this article: the title's name, or the name with the docid appended
        when another article (in this run, or already on disk) holds the plain name."""
        folder = self.root / category_dirs(categories)
        plain = folder / post_filename(title)
        owner = self._owners.get(plain)
        if owner == url or (
            owner is None and (not plain.exists() or _same_article(plain, title, date))
        ):
            self._owners[plain] = url
            return plain
        suffixed = folder / post_filename(title, docid_token(docid, url))
        self._owners[suffixed] = url
        return suffixed
