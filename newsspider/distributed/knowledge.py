"""What is archived, shared through Redis: the writer publishes its index rows, workers read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from newsspider.archive.index import IndexRow, Selection
from newsspider.distributed.config import DistributedConfig
from newsspider.distributed.connection import redis_for
from newsspider.distributed.keys import Keys

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


def encode_row(row: IndexRow) -> str:
    return json.dumps(row.to_record(), ensure_ascii=False)


class RedisKnowledge:
    """The archive index as workers see it: the Redis hash the writer keeps (read-only here).

    Offers what spiders ask of :class:`~newsspider.archive.index.ArchiveIndex`: ``get``,
    ``get_many``, ``find_many``, ``count`` and ``select``.
    """

    def __init__(self, redis: Any, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> RedisKnowledge:
        """What the crawl's writer publishes (the spiders build it once and keep it)."""
        return cls(redis_for(crawler), DistributedConfig.of(crawler).keys)

    def get(self, url: str) -> IndexRow | None:
        raw = self.redis.hget(self.keys.archived, url)
        return IndexRow.from_record(json.loads(raw)) if raw else None

    def get_many(self, urls: Iterable[str]) -> dict[str, IndexRow]:
        """The rows of those of ``urls`` the writer has published, by URL: one round trip."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        raws = self.redis.hmget(self.keys.archived, wanted)
        return {
            url: IndexRow.from_record(json.loads(raw))
            for url, raw in zip(wanted, raws, strict=True)
            if raw
        }

    def find_many(self, articles: Iterable[tuple[str, str | None]]) -> dict[str, IndexRow]:
        """The rows of those articles the writer has published, by the URL asked for: the
        row of the URL, else the row of its docid (the article archived under another URL).
        At most three round trips."""
        wanted = dict(articles)
        found = self.get_many(wanted)
        missing = {docid: url for url, docid in wanted.items() if docid and url not in found}
        if not missing:
            return found
        docids = list(missing)
        holders = self.redis.hmget(self.keys.docids, docids)
        by_holder = {
            holder: missing[d] for d, holder in zip(docids, holders, strict=True) if holder
        }
        for holder, row in self.get_many(by_holder).items():
            found[by_holder[holder]] = row
        return found

    def count(self) -> int:
        return int(self.redis.hlen(self.keys.archived))

    def select(self, selection: Selection, now: datetime) -> Iterator[IndexRow]:
        rows = (
            IndexRow.from_record(json.loads(raw)) for raw in self.redis.hvals(self.keys.archived)
        )
        for row in sorted(rows, key=lambda r: (r.intime or 0, r.url)):
            if selection.matches(row, now):
                yield row


# Seconds a half-built replacement of the shared hash outlives a writer killed while building it.
STAGING_TTL = 3600


def publish(redis: Any, keys: Keys, rows: Iterable[IndexRow], batch: int = 1000) -> int:
    """Write index rows into the shared hash; returns how many."""
    count = 0
    pipe = redis.pipeline(transaction=False)
    for row in rows:
        pipe.hset(keys.archived, row.url, encode_row(row))
        if row.docid:
            pipe.hset(keys.docids, row.docid, row.url)
        count += 1
        if count % batch == 0:
            pipe.execute()
    pipe.execute()
    return count


def replace(redis: Any, keys: Keys, rows: Iterable[IndexRow], batch: int = 1000) -> int:
    """Make the shared hash hold exactly ``rows`` (what this writer's index holds); returns how
    many.

    The rows go into a staging key first, which then replaces the hash in one ``RENAME``: a
    worker reads either the previous hash or the complete new one, never a part of it, and
    nothing an earlier writer published for another archive (same prefix) survives.
    """
    token = uuid.uuid4().hex
    staging, staging_docids = f"{keys.archived}:staging:{token}", f"{keys.docids}:staging:{token}"
    count = docids = 0
    pipe = redis.pipeline(transaction=False)
    for row in rows:
        pipe.hset(staging, row.url, encode_row(row))
        if row.docid:
            pipe.hset(staging_docids, row.docid, row.url)
            docids += 1
        count += 1
        if count % batch == 0:
            pipe.expire(staging, STAGING_TTL)
            pipe.expire(staging_docids, STAGING_TTL)
            pipe.execute()
    pipe.expire(staging, STAGING_TTL)
    pipe.expire(staging_docids, STAGING_TTL)
    pipe.execute()
    swap = redis.pipeline(transaction=True)
    for source, target, filled in (
        (staging, keys.archived, count),
        (staging_docids, keys.docids, docids),
    ):
        if filled:
            swap.rename(source, target)
            swap.persist(target)  # RENAME keeps the staging key's expiry
        else:
            swap.delete(target)
    swap.execute()
    return count
