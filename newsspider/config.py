"""Typed configuration, parsed once from Scrapy settings; bad values fail at start.

:data:`SETTINGS` names every newsspider setting with the parser that checks it;
:func:`validate_settings` runs them all before a crawl starts, so the components that read a
setting later (with ``getint``, ``getfloat``, ``getbool``…) only ever see usable values.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

from newsspider.archive.body import BodyMode
from newsspider.post import AuthorMode


class ConfigError(ValueError):
    """A setting or spider argument with a value newsspider cannot use."""


E = TypeVar("E", bound=StrEnum)

# A parser takes a setting's name and its value (never None: an unset setting keeps the
# default of the component that reads it) and returns the value as it will be used, or raises
# ConfigError naming the setting, the value and what is valid.
Parser = Callable[[str, object], object]


def _invalid(name: str, value: object, valid: str) -> ConfigError:
    return ConfigError(f"{name}={value!r} is not valid; use {valid}")


def _choice(enum: type[E]) -> Callable[[str, object], E]:
    def parse(name: str, value: object) -> E:
        try:
            return enum(str(value).strip().lower())
        except ValueError:
            valid = ", ".join(member.value for member in enum)
            raise _invalid(name, value, f"one of: {valid}") from None

    return parse


# Exactly what Scrapy's getbool() reads, minus the other integers it would also take.
_TRUE = frozenset({"1", "True", "true"})
_FALSE = frozenset({"0", "False", "false"})


def parse_import_paths(name: str, value: object) -> list[str]:
    """A list of dotted import paths (``package.module.name``), as a list or comma-separated."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"{name}={value!r} is not valid; use a list of import paths")
    paths = [str(item).strip() for item in items if str(item).strip()]
    for path in paths:
        if not all(part.isidentifier() for part in path.split(".")) or "." not in path:
            raise ConfigError(
                f"{name}={value!r} is not valid; use import paths like package.module.check "
                f"({path!r} is not one)"
            )
    return paths


def parse_bool(name: str, value: object) -> bool:
    """A flag: ``True``/``False``, ``true``/``false`` or ``1``/``0``."""
    text = str(int(value)) if isinstance(value, bool) else str(value)
    if isinstance(value, (bool, int, str)) and text in _TRUE | _FALSE:
        return text in _TRUE
    raise _invalid(name, value, "True or False (or true/false, 1/0)")


def _number(value: object) -> float | None:
    """``value`` as a finite float, or None (``nan``, ``inf``, a bool and text are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _whole(value: object) -> int | None:
    """``value`` as an int, or None (``1.5``, ``2.0`` as text and a bool are not)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def whole_number(minimum: int) -> Callable[[str, object], int]:
    """A parser of a whole number, ``minimum`` or more."""

    def parse(name: str, value: object) -> int:
        number = _whole(value)
        if number is None or number < minimum:
            raise _invalid(name, value, f"a whole number, {minimum} or more")
        return number

    return parse


def seconds(*, positive: bool = False) -> Callable[[str, object], float]:
    """A parser of a duration in seconds: 0 or more, or more than 0 with ``positive``."""

    def parse(name: str, value: object) -> float:
        number = _number(value)
        if number is None or number < 0 or (positive and number == 0):
            valid = "seconds (more than 0)" if positive else "seconds (0 or more)"
            raise _invalid(name, value, valid)
        return number

    return parse


def parse_ratio(name: str, value: object) -> float:
    """A share of a whole: a number from 0 to 1."""
    number = _number(value)
    if number is None or not 0 <= number <= 1:
        raise _invalid(name, value, "a number from 0 to 1")
    return number


def parse_archive_dir(name: str, value: object) -> Path:
    """The archive root: a non-empty path, ``~`` expanded."""
    text = str(value).strip()
    if not text or "\0" in text:
        raise _invalid(name, value, "the archive folder (a non-empty path)")
    return Path(text).expanduser()


def parse_optional_path(name: str, value: object) -> Path | None:
    """A folder, or None when empty."""
    text = str(value).strip()
    if "\0" in text:
        raise _invalid(name, value, "a folder, or nothing for the default")
    return Path(text).expanduser() if text else None


def parse_non_empty(name: str, value: object) -> str:
    """Any text but an empty one."""
    text = str(value).strip()
    if not text:
        raise _invalid(name, value, "a non-empty name")
    return text


def parse_redis_url(name: str, value: object) -> str:
    """A Redis URL (``redis://``, ``rediss://`` or ``unix://``), or ``''`` when unset."""
    text = str(value).strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if (parts.scheme in ("redis", "rediss") and parts.hostname) or (
        parts.scheme == "unix" and parts.path
    ):
        return text
    raise _invalid(name, value, "a redis://, rediss:// or unix:// URL, e.g. redis://host:6379/0")


def parse_mirror(value: object) -> str:
    """The ``SINA_MIRROR`` base URL without a trailing ``/``, or ``''`` when unset."""
    text = str(value or "").strip().rstrip("/")
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(f"SINA_MIRROR={text!r} is not a base URL like http://127.0.0.1:8000")
    return text


def _parse_mirror_setting(name: str, value: object) -> str:
    return parse_mirror(value)


def _parse_worker_processes(name: str, value: object) -> int | None:
    """``WORKER_PROCESSES``: None for ``auto``, else a whole number from 0."""
    if str(value).strip().lower() == "auto":
        return None
    number = _whole(value)
    if number is None or number < 0:
        raise _invalid(name, value, "auto or a whole number, 0 or more")
    return number


def worker_processes(settings: BaseSettings, auto_max: int) -> int:
    """``WORKER_PROCESSES``: a number from 0, or ``auto``: none on one CPU, else one per CPU,
    at most ``auto_max``. (One per CPU rather than per CPU beyond the engine's: a worker waiting
    for a post's fsync leaves its CPU to the other.)"""
    number = _parse_worker_processes("WORKER_PROCESSES", settings.get("WORKER_PROCESSES", "auto"))
    if number is not None:
        return number
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 0 if (cpus or 1) <= 1 else min(auto_max, cpus or 1)


# Every setting newsspider reads, with its parser. The tests check this table against the
# README's settings tables and settings.py, so a new setting cannot go unchecked.
SETTINGS: tuple[tuple[str, Parser], ...] = (
    ("ARCHIVE_DIR", parse_archive_dir),
    ("ARCHIVE_BODY", _choice(BodyMode)),
    ("ARCHIVE_AUTHOR", _choice(AuthorMode)),
    ("ARCHIVE_FSYNC", parse_bool),
    ("ARCHIVE_LOCK_WAIT", seconds()),
    ("ARCHIVE_INDEX_BATCH", whole_number(1)),
    ("ARCHIVE_INDEX_BATCH_SECONDS", seconds()),
    ("ARCHIVE_WRITES", parse_bool),
    ("SINA_CATCHUP_PAGES", whole_number(1)),
    ("SINA_MIRROR", _parse_mirror_setting),
    ("SINA_REACHABILITY_ENABLED", parse_bool),
    ("PROGRESS_INTERVAL", seconds()),
    ("PROGRESS_ENABLED", parse_bool),
    ("RUN_MAX_ERRORS", whole_number(0)),
    ("RUN_MAX_ERROR_RATIO", parse_ratio),
    ("RUN_MAX_FALLBACK_RATIO", parse_ratio),
    ("RUN_FALLBACK_MIN_PAGES", whole_number(1)),
    ("RUN_PREFLIGHT", parse_import_paths),
    ("REPORT_ENABLED", parse_bool),
    ("REPORT_DIR", parse_optional_path),
    ("REPORT_KEEP", whole_number(0)),
    ("WORKER_PROCESSES", _parse_worker_processes),
    ("WORKER_TASK_TIMEOUT", seconds()),
    ("CONCURRENT_ITEMS", whole_number(1)),
    ("NEWSSPIDER_DISTRIBUTED", parse_bool),
    ("REDIS_URL", parse_redis_url),
    ("NEWSSPIDER_REDIS_PREFIX", parse_non_empty),
    ("NEWSSPIDER_WRITER_WAIT", seconds()),
    ("NEWSSPIDER_WRITER_IDLE", seconds()),
    ("NEWSSPIDER_HEARTBEAT", seconds(positive=True)),
    ("NEWSSPIDER_WORKER_TIMEOUT", seconds(positive=True)),
)


def validate_settings(settings: BaseSettings) -> None:
    """Raise ``ConfigError`` for the first setting of :data:`SETTINGS` that is unusable.
    Unset settings (None) are left to their readers' defaults, except ``ARCHIVE_DIR``, which
    must be set. (What a combination of settings needs is an add-on's ``RUN_PREFLIGHT``.)"""
    for name, parse in SETTINGS:
        value = settings.get(name)
        if value is not None or name == "ARCHIVE_DIR":
            parse(name, "" if value is None else value)


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
        def value(name: str, default: object) -> object:
            found = settings.get(name)
            return default if found is None else found

        return cls(
            root=parse_archive_dir("ARCHIVE_DIR", value("ARCHIVE_DIR", "")),
            body=_choice(BodyMode)("ARCHIVE_BODY", value("ARCHIVE_BODY", "")),
            author=_choice(AuthorMode)("ARCHIVE_AUTHOR", value("ARCHIVE_AUTHOR", "")),
            fsync=parse_bool("ARCHIVE_FSYNC", value("ARCHIVE_FSYNC", True)),
            lock_wait=seconds()("ARCHIVE_LOCK_WAIT", value("ARCHIVE_LOCK_WAIT", 0)),
        )


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
