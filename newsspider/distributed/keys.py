"""Redis key names, all under ``DISTRIBUTED_REDIS_PREFIX``."""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.settings import BaseSettings

from newsspider.config import Setting, parse_non_empty

PREFIX = Setting("DISTRIBUTED_REDIS_PREFIX", parse_non_empty)


@dataclass(frozen=True)
class Keys:
    """The keys of one archive's distributed crawls."""

    prefix: str

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Keys:
        """The keys under the prefix ``settings`` give (``DistributedConfig.keys`` holds the
        crawl's)."""
        return cls(PREFIX.read(settings))

    @property
    def requests(self) -> str:
        """The shared request queue (scrapy-redis)."""
        return f"{self.prefix}:requests"

    @property
    def dupefilter(self) -> str:
        """The shared seen-request set (scrapy-redis), cleared when a run ends."""
        return f"{self.prefix}:dupefilter"

    @property
    def run(self) -> str:
        """The current run's id; it expires unless a live worker keeps it."""
        return f"{self.prefix}:run"

    @property
    def items(self) -> str:
        """List: items the workers finished, for the writer."""
        return f"{self.prefix}:items"

    @property
    def archived(self) -> str:
        """Hash: article URL -> its index row (JSON), published by the writer."""
        return f"{self.prefix}:archived"

    @property
    def docids(self) -> str:
        """Hash: docid -> the URL its row is published under (one article, many URLs)."""
        return f"{self.prefix}:archived:docids"

    @property
    def writer(self) -> str:
        """Set while a writer runs and has published what is archived."""
        return f"{self.prefix}:writer"

    def members(self, run_id: str) -> str:
        """Hash of a run's members: worker id -> ``busy|idle <unix time>``."""
        return f"{self.run}:{run_id}:members"

    def inflight(self, run_id: str, worker: str) -> str:
        """Hash of the requests a member took and has not finished (see ``.inflight``)."""
        return f"{self.run}:{run_id}:inflight:{worker}"

    def all_inflight(self, run_id: str) -> str:
        """A ``SCAN`` pattern for every member's in-flight hash of a run."""
        return f"{self.run}:{run_id}:inflight:*"

    def outcome(self, run_id: str) -> str:
        """How many requests a run ended without doing (``0``: it did all), set by the last
        member to leave; missing when no member was left to end it (all were killed)."""
        return f"{self.run}:{run_id}:outcome"
