"""Typed configuration, parsed once from Scrapy settings; bad values fail at start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

from newsspider.archive.body import BodyMode


class ConfigError(ValueError):
    """A setting or spider argument with a value newsspider cannot use."""


class AuthorMode(StrEnum):
    """Whose name goes into ``author:`` (setting ``ARCHIVE_AUTHOR``)."""

    SITE = "site"
    SOURCE = "source"


SITE_AUTHOR = "新浪财经"

E = TypeVar("E", bound=StrEnum)


def _choice(settings: BaseSettings, name: str, enum: type[E]) -> E:
    raw = str(settings.get(name) or "").strip().lower()
    try:
        return enum(raw)
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise ConfigError(f"{name}={raw!r} is not valid; use one of: {valid}") from None


@dataclass(frozen=True)
class ArchiveConfig:
    """``ARCHIVE_*`` settings."""

    root: Path
    body: BodyMode
    author: AuthorMode
    fsync: bool
    lock_wait: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ArchiveConfig:
        root = str(settings.get("ARCHIVE_DIR") or "").strip()
        if not root:
            raise ConfigError("ARCHIVE_DIR is empty; set it to the archive folder")
        return cls(
            root=Path(root).expanduser(),
            body=_choice(settings, "ARCHIVE_BODY", BodyMode),
            author=_choice(settings, "ARCHIVE_AUTHOR", AuthorMode),
            fsync=settings.getbool("ARCHIVE_FSYNC", True),
            lock_wait=_non_negative(settings, "ARCHIVE_LOCK_WAIT"),
        )


def _non_negative(settings: BaseSettings, name: str) -> float:
    try:
        value = float(settings.get(name) or 0)
    except (TypeError, ValueError):
        value = -1.0
    if value < 0:
        raise ConfigError(f"{name}={settings.get(name)!r} is not valid; use seconds (0 or more)")
    return value


def parse_mirror(value: object) -> str:
    """The ``SINA_MIRROR`` base URL without a trailing ``/``, or ``''`` when unset."""
    text = str(value or "").strip().rstrip("/")
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(f"SINA_MIRROR={text!r} is not a base URL like http://127.0.0.1:8000")
    return text


def positive_int(name: str, value: object, *, maximum: int | None = None) -> int:
    """A spider argument that must be a whole number from 1 to ``maximum``."""
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1 or (maximum is not None and number > maximum):
        upper = f" to {maximum}" if maximum is not None else " or more"
        raise ConfigError(f"-a {name}={value!s} is not valid; use a whole number from 1{upper}")
    return number


def validate_settings(settings: BaseSettings) -> None:
    """Raise ``ConfigError`` for the first ``ARCHIVE_*``/``SINA_*``/``NEWSSPIDER_*`` setting
    that is unusable."""
    ArchiveConfig.from_settings(settings)
    parse_mirror(settings.get("SINA_MIRROR"))
    if settings.getbool("NEWSSPIDER_DISTRIBUTED") and not settings.get("REDIS_URL"):
        raise ConfigError("NEWSSPIDER_DISTRIBUTED needs REDIS_URL (e.g. redis://host:6379/0)")
    worker_processes(settings, 1)
    _non_negative(settings, "WORKER_TASK_TIMEOUT")


def worker_processes(settings: BaseSettings, auto_max: int) -> int:
    """``WORKER_PROCESSES``: a number from 0, or ``auto``: none on one CPU, else one per CPU,
    at most ``auto_max``. (One per CPU rather than per CPU beyond the engine's: a worker waiting
    for a post's fsync leaves its CPU to the other.)"""
    raw = str(settings.get("WORKER_PROCESSES", "auto")).strip().lower()
    if raw == "auto":
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return 0 if (cpus or 1) <= 1 else min(auto_max, cpus or 1)
    try:
        number = int(raw)
    except ValueError:
        number = -1
    if number < 0:
        raise ConfigError(f"WORKER_PROCESSES={raw!r} is not valid; use auto or a number from 0")
    return number


def is_distributed_worker(settings: BaseSettings) -> bool:
    """True for a distributed worker: it neither writes nor locks the archive."""
    return (
        settings.getbool("NEWSSPIDER_DISTRIBUTED") and settings.get("NEWSSPIDER_ROLE") != "writer"
    )
