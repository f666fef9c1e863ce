"""Items as the spider makes them, from saved pages: the input of the pure post functions and
of the normalization pipeline."""

from __future__ import annotations

import dataclasses

from newsspider.archive.body import BodyMode
from newsspider.items import FetchedPage
from newsspider.post import AuthorMode, PostRules
from newsspider.sina.roll import RollEntry, parse_entry

from utils.content import Golden

VERBATIM = PostRules(BodyMode.VERBATIM, AuthorMode.SITE)
CLEAN = PostRules(BodyMode.CLEAN, AuthorMode.SITE)


def entry_of(golden: Golden) -> RollEntry:
    """The roll entry that lists ``golden``."""
    entry = parse_entry(golden.item)
    assert isinstance(entry, RollEntry), entry
    return entry


def fetched(
    golden: Golden,
    html: str | bytes | None = None,
    *,
    url: str | None = None,
    channel: str = "china",
    listed: bool = True,
    **entry_changes: object,
) -> FetchedPage:
    """The page of ``golden`` (or ``html`` in its place) as fetched under ``url`` (the golden
    URL), listed by its roll entry with ``entry_changes`` (``title``, ``docid``, ``intime``…;
    no entry with ``listed=False``)."""
    entry = None
    if listed:
        entry = dataclasses.replace(entry_of(golden), **entry_changes)  # type: ignore[arg-type]
    page = golden.page if html is None else html
    body = page.encode("utf-8") if isinstance(page, str) else page
    return FetchedPage(
        url=url or (entry.url if entry else golden.url),
        channel=channel,
        docid=entry.docid if entry else golden.doc_id,
        entry=entry,
        body=body,
        encoding="utf-8",
    )
