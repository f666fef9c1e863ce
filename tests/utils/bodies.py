"""The article bodies of every golden page and saved page, as extraction gives them."""

from __future__ import annotations

import json
from pathlib import Path

from parsel import Selector

from newsspider.sina.article import parse_article

from utils.content import DATA, GOLDENS


def _saved_page(folder: Path) -> tuple[str, str | None, str]:
    page = (folder / f"{folder.name}.html").read_text(encoding="utf-8")
    url = json.loads((folder / "expected.json").read_text(encoding="utf-8"))["canonical_url"]
    return folder.name, parse_article(Selector(text=page)).body_html, url


BODIES: list[tuple[str, str | None, str]] = [
    (golden.slug, parse_article(Selector(text=golden.page)).body_html, golden.meta["url"])
    for golden in GOLDENS
] + [_saved_page(folder) for folder in sorted((DATA / "pages").iterdir())]
"""(id, body HTML, page URL) of each golden page (``tests/data/sina/golden``) and saved page
(``tests/data/sina/pages``)."""
