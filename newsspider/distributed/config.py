"""The distributed mode's settings, ``DISTRIBUTED_*`` (and scrapy-redis's ``REDIS_URL``), parsed
once per crawl into :class:`DistributedConfig`; their defaults are in ``newsspider/settings.py``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from newsspider.config import (
    Setting,
    choice,
    config_of,
    parse_bool,
    parse_redis_url,
    seconds,
)
from newsspider.distributed.keys import PREFIX, Keys

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings


class Role(StrEnum):
    """What a process of the distributed mode is (``DISTRIBUTED_ROLE``)."""

    WORKER = "worker"
    """Fetches and extracts; pushes items to the writer."""
    WRITER = "writer"
    """Writes the archive (the ``sina_writer`` spider sets it for itself)."""


_ENABLED = Setting("DISTRIBUTED_ENABLED", parse_bool)
_REDIS_URL = Setting("REDIS_URL", parse_redis_url)
_WRITER_WAIT = Setting("DISTRIBUTED_WRITER_WAIT", seconds())
_WRITER_IDLE = Setting("DISTRIBUTED_WRITER_IDLE", seconds())
_HEARTBEAT = Setting("DISTRIBUTED_HEARTBEAT", seconds(positive=True))
_WORKER_TIMEOUT = Setting("DISTRIBUTED_WORKER_TIMEOUT", seconds(positive=True))
_ROLE = Setting("DISTRIBUTED_ROLE", choice(Role))

SETTINGS: Final[tuple[Setting[Any], ...]] = (
    _ENABLED,
    _REDIS_URL,
    PREFIX,
    _WRITER_WAIT,
    _WRITER_IDLE,
    _HEARTBEAT,
    _WORKER_TIMEOUT,
    _ROLE,
)
"""The settings the distributed add-on brings (``validate_settings`` checks them)."""


@dataclass(frozen=True)
class DistributedConfig:
    """The distributed mode's settings."""

    enabled: bool
    redis_url: str
    """``''`` when unset (the mode's start-up check refuses that)."""
    keys: Keys
    writer_wait: float
    """Seconds a worker waits for the writer to be up."""
    writer_idle: float
    """Seconds the writer waits for a run to begin."""
    heartbeat: float
    """Seconds between a worker's heartbeats."""
    worker_timeout: float
    """Seconds after which a silent worker counts as dead."""
    role: Role

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> DistributedConfig:
        return cls(
            enabled=_ENABLED.read(settings),
            redis_url=_REDIS_URL.read(settings),
            keys=Keys.from_settings(settings),
            writer_wait=_WRITER_WAIT.read(settings),
            writer_idle=_WRITER_IDLE.read(settings),
            heartbeat=_HEARTBEAT.read(settings),
            worker_timeout=_WORKER_TIMEOUT.read(settings),
            role=_ROLE.read(settings),
        )

    @classmethod
    def of(cls, crawler: Crawler) -> DistributedConfig:
        """The crawl's distributed configuration, parsed once (``newsspider.config.config_of``)."""
        return config_of(crawler, cls)
