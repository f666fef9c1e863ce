"""``sina_refresh``: re-check archived articles, conditionally, and update what changed.

Usually started with ``scrapy refresh`` (see ``newsspider.commands.refresh``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import scrapy

from newsspider.archive.history import WriteReason
from newsspider.archive.index import IndexRow
from newsspider.config import ConfigError
from newsspider.params import parse_moment
from newsspider.sina.channels import UnknownChannelError, get_channel
from newsspider.sina.dates import from_unix
from newsspider.sina.roll import RollEntry
from newsspider.spiders.base import ArticleSpider
from newsspider.stats import REFRESH_CHECKED

logger = logging.getLogger(__name__)

REFRESH_ARGS = ("all", "since", "older_than", "channel")


@dataclass(frozen=True)
class RefreshSelection:
    """Which archived articles to re-check; the filters combine (all must hold).

    ``since``: listed at or after this time; ``older_than``: last checked more than this many
    days ago; ``channel``: one channel's articles. ``all`` alone selects everything.
    """

    since: datetime | None
    older_than: float | None
    channel: str | None

    @classmethod
    def parse(cls, **kwargs: Any) -> RefreshSelection:
        unknown = sorted(k for k in kwargs if k not in REFRESH_ARGS and not k.startswith("_"))
        if unknown:
            raise ConfigError(
                f"unknown argument {', '.join(unknown)}; valid: all, {', '.join(REFRESH_ARGS[1:])}"
            )
        since = parse_moment("since", str(kwargs["since"])) if kwargs.get("since") else None
        older_than: float | None = None
        if kwargs.get("older_than") not in (None, ""):
            try:
                older_than = float(kwargs["older_than"])
            except ValueError:
                older_than = -1
            if older_than < 0:
                raise ConfigError(f"older_than={kwargs['older_than']} is not a number of days")
        channel = kwargs.get("channel") or None
        if channel:
            try:
                get_channel(str(channel))
            except UnknownChannelError as exc:
                raise ConfigError(str(exc)) from None
        if not (kwargs.get("all") or since or older_than is not None or channel):
            task = kwargs.get("_task", "refresh")  # the command's word for what it does
            raise ConfigError(f"say what to {task}: all, since, older_than or channel")
        return cls(since, older_than, str(channel) if channel else None)

    def matches(self, row: IndexRow, now: datetime) -> bool:
        """The same condition as :meth:`where`, on one row."""
        if self.since is not None and (row.intime or 0) < int(self.since.timestamp()):
            return False
        if self.older_than is not None:
            cutoff = (now - timedelta(days=self.older_than)).replace(microsecond=0)
            if not row.last_checked < cutoff.isoformat():
                return False
        return self.channel is None or row.channel == self.channel

    def where(self, now: datetime) -> tuple[str, tuple[Any, ...]]:
        """An SQL condition on the index and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append("intime >= ?")
            params.append(int(self.since.timestamp()))
        if self.older_than is not None:
            cutoff = (now - timedelta(days=self.older_than)).replace(microsecond=0)
            clauses.append("last_checked < ?")
            params.append(cutoff.isoformat())
        if self.channel is not None:
            clauses.append("channel = ?")
            params.append(self.channel)
        return " AND ".join(clauses), tuple(params)


def entry_of(row: IndexRow) -> RollEntry:
    """The roll entry an archived article was listed with, as the index remembers it: the
    refreshed post keeps the same title and date."""
    return RollEntry(
        url=row.url,
        title=row.title,
        docid=row.docid,
        intime=from_unix(row.intime),
        mtime=from_unix(row.mtime),
        media_name=None,
    )


class SinaRefreshSpider(ArticleSpider):
    """Sends a conditional request for every selected archived article.

    A 304 marks it unchanged, a 404/410 marks it gone (the post stays), a new page is
    re-rendered and rewritten only if the post changed. Stats: ``refresh/checked``.
    """

    name = "sina_refresh"
    write_reason = WriteReason.REFRESH  # what the history of the posts it writes says

    def __init__(self, **kwargs: Any) -> None:
        selection = {k: kwargs.pop(k) for k in REFRESH_ARGS if k in kwargs}
        super().__init__(**kwargs)
        self.arguments.update({k: str(v) for k, v in selection.items()})
        self.selection = RefreshSelection.parse(**selection)

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """Raise ``ConfigError`` for an unusable selection (before the crawl)."""
        RefreshSelection.parse(**kwargs)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        rows = list(self.known.select(self.selection, datetime.now(UTC)))
        logger.info("Refreshing %d archived article(s)", len(rows))
        for row in rows:
            request = self.article_request(row.url, row.channel, entry_of(row), row)
            if request is not None:
                self.stats().inc_value(REFRESH_CHECKED)
                yield request
