"""Typed configuration: every newsspider setting parsed once, into one frozen dataclass per area.

* Each area has one prefix and one config: ``ARCHIVE_*`` (:class:`ArchiveConfig`; the
  pictures' ``ARCHIVE_IMAGES*``: :class:`ImagesConfig`; the page captures' ``ARCHIVE_WARC*``:
  :class:`WarcConfig`), ``SINA_*``
  (:class:`SinaConfig`), ``RUN_*`` (:class:`RunConfig`), ``REPORT_*`` (:class:`ReportConfig`),
  ``WORKER_*`` (:class:`WorkerConfig`); :class:`Config` holds them all. The distributed mode's
  ``DISTRIBUTED_*`` settings are its own (:mod:`newsspider.distributed.config`).
* Every default is in ``newsspider/settings.py``, and only there. A setting the settings lack
  altogether (a crawler built from a few settings, as a test builds one) has the value
  ``settings.py`` gives it.
* A crawl's :class:`Config` is parsed once, from its final settings, and components reach it with
  :meth:`Config.of`: :class:`ConfigAddon`, first in ``ADDONS``, keeps it for the crawl.
* Bad values fail at start: :func:`validate_settings`, which ``scrapy crawl`` runs before a crawl,
  parses every setting (:data:`SETTINGS` and those the add-ons bring), so a component never meets
  a value it cannot use.
* Renamed settings (:data:`RENAMED`) keep working for one release: :class:`ConfigAddon` gives an
  old name's value to its new name and logs one WARNING line for it.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, Self, TypeVar, cast
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import load_object

from newsspider import settings as defaults
from newsspider.archive.body import BodyMode
from newsspider.archive.store import ArchiveStore
from newsspider.post import AuthorMode

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting or spider argument with a value newsspider cannot use."""


E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

# A parser takes a setting's name and its value (never None) and returns the value as it will be
# used, or raises ConfigError naming the setting, the value and what is valid.
Parser = Callable[[str, object], T]


def _invalid(name: str, value: object, valid: str) -> ConfigError:
    return ConfigError(f"{name}={value!r} is not valid; use {valid}")


def choice(enum: type[E]) -> Callable[[str, object], E]:
    """A parser of one of ``enum``'s values (any case)."""

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


def _is_import_path(path: str) -> bool:
    return "." in path and all(part.isidentifier() for part in path.split("."))


def parse_import_paths(name: str, value: object) -> tuple[str, ...]:
    """A list of dotted import paths (``package.module.name``), as a list or comma-separated."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"{name}={value!r} is not valid; use a list of import paths")
    paths = tuple(str(item).strip() for item in items if str(item).strip())
    for path in paths:
        if not _is_import_path(path):
            raise ConfigError(
                f"{name}={value!r} is not valid; use import paths like package.module.check "
                f"({path!r} is not one)"
            )
    return paths


def parse_import_path(name: str, value: object) -> str:
    """One dotted import path (``package.module.Class``)."""
    path = str(value).strip()
    if not _is_import_path(path):
        raise _invalid(name, value, "an import path like package.module.Class")
    return path


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
            raise _invalid(name, value, f"a whole number from {minimum}")
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
        raise _invalid(name, value, "a share from 0 to 1")
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


class ImagesMode(StrEnum):
    """``ARCHIVE_IMAGES``: what becomes of the pictures posts show."""

    OFF = "off"
    """Nothing: posts link Sina's pictures."""
    SAVE = "save"
    """Every picture is downloaded into ``ARCHIVE_IMAGES_DIR``; posts are left as they are."""
    LOCAL = "local"
    """``save``, and clean and markdown posts show the stored pictures from
    ``ARCHIVE_IMAGES_URL``; not with ``ARCHIVE_BODY=verbatim``, whose posts stay the older
    pipeline's bytes."""


_HOST_PATTERN = re.compile(r"^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def parse_host_patterns(name: str, value: object) -> tuple[str, ...]:
    """Host names (``mmbiz.qpic.cn``) or ``*.`` and a domain (``*.sinaimg.cn``: its
    subdomains), as a list or comma-separated; at least one, lower case."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise _invalid(name, value, "a list of host names like *.sinaimg.cn,mmbiz.qpic.cn")
    hosts = tuple(str(item).strip().lower().rstrip(".") for item in items if str(item).strip())
    bad = [host for host in hosts if not _HOST_PATTERN.match(host)]
    if not hosts or bad:
        raise _invalid(
            name,
            value,
            "host names like mmbiz.qpic.cn or *.sinaimg.cn"
            + (f" ({bad[0]!r} is not one)" if bad else ""),
        )
    return hosts


def parse_url_prefix(name: str, value: object) -> str:
    """A URL path (``/images/``) or an http(s) URL prefix, ending with ``/``."""
    text = str(value).strip()
    parts = urlsplit(text)
    absolute = parts.scheme in ("http", "https") and bool(parts.netloc)
    if not text or not (text.startswith("/") or absolute) or parts.query or parts.fragment:
        raise _invalid(name, value, "a URL path like /images/ or a URL like https://host/images/")
    return text if text.endswith("/") else text + "/"


def _parse_worker_processes(name: str, value: object) -> int | None:
    """``WORKER_PROCESSES``: None for ``auto``, else a whole number from 0."""
    if str(value).strip().lower() == "auto":
        return None
    number = _whole(value)
    if number is None or number < 0:
        raise _invalid(name, value, "auto or a whole number from 0")
    return number


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


# --- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting: its name and the parser of its value."""

    name: str
    parse: Parser[T]

    def read(self, settings: BaseSettings) -> T:
        """The setting's value in ``settings``, parsed; :class:`ConfigError` for a value
        newsspider cannot use. Settings that lack it altogether give the value in
        ``newsspider/settings.py``, its one default."""
        value = settings.get(self.name)
        if value is None:
            value = getattr(defaults, self.name)
        return self.parse(self.name, value)


_ARCHIVE_DIR = Setting("ARCHIVE_DIR", parse_archive_dir)
_ARCHIVE_BODY = Setting("ARCHIVE_BODY", choice(BodyMode))
_ARCHIVE_AUTHOR = Setting("ARCHIVE_AUTHOR", choice(AuthorMode))
_ARCHIVE_FSYNC = Setting("ARCHIVE_FSYNC", parse_bool)
_ARCHIVE_LOCK_WAIT = Setting("ARCHIVE_LOCK_WAIT", seconds())
_ARCHIVE_INDEX_BATCH = Setting("ARCHIVE_INDEX_BATCH", whole_number(1))
_ARCHIVE_INDEX_BATCH_SECONDS = Setting("ARCHIVE_INDEX_BATCH_SECONDS", seconds())
_ARCHIVE_WRITES = Setting("ARCHIVE_WRITES", parse_bool)
_ARCHIVE_KNOWLEDGE = Setting("ARCHIVE_KNOWLEDGE", parse_import_path)
_ARCHIVE_IMAGES = Setting("ARCHIVE_IMAGES", choice(ImagesMode))
_ARCHIVE_IMAGES_DIR = Setting("ARCHIVE_IMAGES_DIR", parse_archive_dir)
_ARCHIVE_IMAGES_URL = Setting("ARCHIVE_IMAGES_URL", parse_url_prefix)
_ARCHIVE_IMAGES_MAXSIZE = Setting("ARCHIVE_IMAGES_MAXSIZE", whole_number(1))
_ARCHIVE_IMAGES_HOSTS = Setting("ARCHIVE_IMAGES_HOSTS", parse_host_patterns)
_ARCHIVE_IMAGES_FETCH = Setting("ARCHIVE_IMAGES_FETCH", parse_bool)
_ARCHIVE_WARC = Setting("ARCHIVE_WARC", parse_bool)
_ARCHIVE_WARC_MAXSIZE = Setting("ARCHIVE_WARC_MAXSIZE", whole_number(1))
_SINA_MIRROR = Setting("SINA_MIRROR", _parse_mirror_setting)
_SINA_MIRROR_INNER_HANDLER = Setting("SINA_MIRROR_INNER_HANDLER", parse_import_path)
_SINA_CATCHUP_PAGES = Setting("SINA_CATCHUP_PAGES", whole_number(1))
_SINA_REACHABILITY_ENABLED = Setting("SINA_REACHABILITY_ENABLED", parse_bool)
_RUN_PROGRESS_ENABLED = Setting("RUN_PROGRESS_ENABLED", parse_bool)
_RUN_PROGRESS_INTERVAL = Setting("RUN_PROGRESS_INTERVAL", seconds())
_RUN_MAX_ERRORS = Setting("RUN_MAX_ERRORS", whole_number(0))
_RUN_MAX_ERROR_RATIO = Setting("RUN_MAX_ERROR_RATIO", parse_ratio)
_RUN_MAX_FALLBACK_RATIO = Setting("RUN_MAX_FALLBACK_RATIO", parse_ratio)
# 0 is allowed and means what 1 does: drift is judged on at least one page.
_RUN_FALLBACK_MIN_PAGES = Setting("RUN_FALLBACK_MIN_PAGES", whole_number(0))
_RUN_PREFLIGHT = Setting("RUN_PREFLIGHT", parse_import_paths)
_REPORT_ENABLED = Setting("REPORT_ENABLED", parse_bool)
_REPORT_DIR = Setting("REPORT_DIR", parse_optional_path)
_REPORT_KEEP = Setting("REPORT_KEEP", whole_number(0))
_WORKER_PROCESSES = Setting("WORKER_PROCESSES", _parse_worker_processes)
_WORKER_TASK_TIMEOUT = Setting("WORKER_TASK_TIMEOUT", seconds())
# Scrapy's own, with a value of newsspider's (settings.py says why).
_CONCURRENT_ITEMS = Setting("CONCURRENT_ITEMS", whole_number(1))

SETTINGS: Final[tuple[Setting[Any], ...]] = (
    _ARCHIVE_DIR,
    _ARCHIVE_BODY,
    _ARCHIVE_AUTHOR,
    _ARCHIVE_FSYNC,
    _ARCHIVE_LOCK_WAIT,
    _ARCHIVE_INDEX_BATCH,
    _ARCHIVE_INDEX_BATCH_SECONDS,
    _ARCHIVE_WRITES,
    _ARCHIVE_KNOWLEDGE,
    _ARCHIVE_IMAGES,
    _ARCHIVE_IMAGES_DIR,
    _ARCHIVE_IMAGES_URL,
    _ARCHIVE_IMAGES_MAXSIZE,
    _ARCHIVE_IMAGES_HOSTS,
    _ARCHIVE_IMAGES_FETCH,
    _ARCHIVE_WARC,
    _ARCHIVE_WARC_MAXSIZE,
    _SINA_MIRROR,
    _SINA_MIRROR_INNER_HANDLER,
    _SINA_CATCHUP_PAGES,
    _SINA_REACHABILITY_ENABLED,
    _RUN_PROGRESS_ENABLED,
    _RUN_PROGRESS_INTERVAL,
    _RUN_MAX_ERRORS,
    _RUN_MAX_ERROR_RATIO,
    _RUN_MAX_FALLBACK_RATIO,
    _RUN_FALLBACK_MIN_PAGES,
    _RUN_PREFLIGHT,
    _REPORT_ENABLED,
    _REPORT_DIR,
    _REPORT_KEEP,
    _WORKER_PROCESSES,
    _WORKER_TASK_TIMEOUT,
    _CONCURRENT_ITEMS,
)
"""The core's settings. The tests check this table, with the add-ons' own, against the README's
settings tables and ``settings.py``, so a new setting cannot go unchecked."""

RENAMED: Final[dict[str, str]] = {
    "PROGRESS_ENABLED": "RUN_PROGRESS_ENABLED",
    "PROGRESS_INTERVAL": "RUN_PROGRESS_INTERVAL",
    "NEWSSPIDER_KNOWLEDGE": "ARCHIVE_KNOWLEDGE",
    "NEWSSPIDER_DISTRIBUTED": "DISTRIBUTED_ENABLED",
    "NEWSSPIDER_REDIS_PREFIX": "DISTRIBUTED_REDIS_PREFIX",
    "NEWSSPIDER_WRITER_WAIT": "DISTRIBUTED_WRITER_WAIT",
    "NEWSSPIDER_WRITER_IDLE": "DISTRIBUTED_WRITER_IDLE",
    "NEWSSPIDER_HEARTBEAT": "DISTRIBUTED_HEARTBEAT",
    "NEWSSPIDER_WORKER_TIMEOUT": "DISTRIBUTED_WORKER_TIMEOUT",
    "NEWSSPIDER_ROLE": "DISTRIBUTED_ROLE",
}
"""Old setting names, working until the next release, and their new names."""


def known_settings(settings: BaseSettings) -> tuple[Setting[Any], ...]:
    """Every setting newsspider reads under ``settings``: :data:`SETTINGS`, and those of each
    add-on in ``ADDONS`` that brings its own (as the add-on class's ``SETTINGS``)."""
    rows = list(SETTINGS)
    for path in build_component_list(settings["ADDONS"] or {}):
        rows += getattr(load_object(path), "SETTINGS", ())
    return tuple(rows)


def validate_settings(settings: BaseSettings) -> None:
    """Raise ``ConfigError`` for the first setting newsspider cannot use, among
    :func:`known_settings` and the old names of :data:`RENAMED` given (checked as their new
    names are, and named as given). (What a combination of settings needs is an add-on's
    ``RUN_PREFLIGHT``.)"""
    rows = {row.name: row for row in known_settings(settings)}
    for old, new in RENAMED.items():
        value = settings.get(old)
        if value is not None and new in rows:
            rows[new].parse(old, value)
    for row in rows.values():
        row.read(settings)
    if (
        _ARCHIVE_IMAGES.read(settings) is ImagesMode.LOCAL
        and _ARCHIVE_BODY.read(settings) is BodyMode.VERBATIM
    ):
        # Verbatim posts are the older pipeline's bytes: pointing them elsewhere would change
        # every post of an archive that keeps them.
        raise ConfigError(
            "ARCHIVE_IMAGES=local rewrites posts, and ARCHIVE_BODY=verbatim posts stay as the"
            " older pipeline wrote them; use ARCHIVE_IMAGES=save, or ARCHIVE_BODY=clean or markdown"
        )


def rename_deprecated(settings: BaseSettings) -> list[str]:
    """Give each old name of :data:`RENAMED` that ``settings`` hold its value to its new name,
    at the old name's priority; returns one line per old name given, for the log.

    The new name keeps its own value when it was given too, at the same priority or a higher
    one. At the same priority, a new name that holds newsspider's default does not count as
    given: a project's ``settings.py`` that imports newsspider's and sets an old name means the
    old name."""
    lines = []
    for old, new in RENAMED.items():
        value = settings.get(old)
        if value is None:
            continue
        priority = settings.getpriority(old) or 0
        new_priority = settings.getpriority(new)
        kept = new_priority is not None and (
            new_priority > priority
            or (new_priority == priority and settings.get(new) != getattr(defaults, new))
        )
        line = f"{old} is deprecated; use {new} (the old name works until the next release"
        if kept:
            lines.append(f"{line}; {new} is given too, and wins)")
        else:
            settings.set(new, value, priority=priority)
            lines.append(f"{line})")
    return lines


# --- the configuration of each area ----------------------------------------------------------


@dataclass(frozen=True)
class ArchiveConfig:
    """``ARCHIVE_*``: where the archive is and how posts are written into it."""

    root: Path
    body: BodyMode
    author: AuthorMode
    fsync: bool
    lock_wait: float
    index_batch: int
    index_batch_seconds: float
    writes: bool
    knowledge: str
    """The import path of what the spiders ask about what is archived (``for_crawler``)."""

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ArchiveConfig:
        return cls(
            root=_ARCHIVE_DIR.read(settings),
            body=_ARCHIVE_BODY.read(settings),
            author=_ARCHIVE_AUTHOR.read(settings),
            fsync=_ARCHIVE_FSYNC.read(settings),
            lock_wait=_ARCHIVE_LOCK_WAIT.read(settings),
            index_batch=_ARCHIVE_INDEX_BATCH.read(settings),
            index_batch_seconds=_ARCHIVE_INDEX_BATCH_SECONDS.read(settings),
            writes=_ARCHIVE_WRITES.read(settings),
            knowledge=_ARCHIVE_KNOWLEDGE.read(settings),
        )

    def open_store(self) -> ArchiveStore:
        """The archive at :attr:`root`, opened for writing with these settings (its lock
        waited for ``lock_wait`` seconds; :class:`~newsspider.archive.lock.ArchiveLockedError`
        after that)."""
        return ArchiveStore.open(
            self.root,
            fsync=self.fsync,
            lock_wait=self.lock_wait,
            batch_size=self.index_batch,
            batch_seconds=self.index_batch_seconds,
        )


@dataclass(frozen=True)
class ImagesConfig:
    """``ARCHIVE_IMAGES*``: the pictures of the posts, kept beside the archive."""

    mode: ImagesMode
    folder: Path
    """As given: relative to ``ARCHIVE_DIR`` unless absolute (:meth:`folder_of`)."""
    url: str
    """The URL prefix the site serves :attr:`folder` under, ending with ``/``."""
    maxsize: int
    hosts: tuple[str, ...]
    """The only hosts pictures are fetched from: names, or ``*.domain`` for its subdomains."""
    fetch: bool
    """False: no picture is fetched (``scrapy rebuild``); with ``local``, posts show the
    pictures stored already."""

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ImagesConfig:
        return cls(
            mode=_ARCHIVE_IMAGES.read(settings),
            folder=_ARCHIVE_IMAGES_DIR.read(settings),
            url=_ARCHIVE_IMAGES_URL.read(settings),
            maxsize=_ARCHIVE_IMAGES_MAXSIZE.read(settings),
            hosts=_ARCHIVE_IMAGES_HOSTS.read(settings),
            fetch=_ARCHIVE_IMAGES_FETCH.read(settings),
        )

    def folder_of(self, root: Path) -> Path:
        """The pictures' folder for the archive at ``root``, normalized (``..`` resolved)."""
        return Path(os.path.normpath(root / self.folder))


@dataclass(frozen=True)
class WarcConfig:
    """``ARCHIVE_WARC*``: the capture of every page fetched, in WARC files beside the archive."""

    enabled: bool
    maxsize: int
    """Bytes a WARC file holds before the next one is started."""

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> WarcConfig:
        return cls(
            enabled=_ARCHIVE_WARC.read(settings),
            maxsize=_ARCHIVE_WARC_MAXSIZE.read(settings),
        )


@dataclass(frozen=True)
class SinaConfig:
    """``SINA_*``: how Sina is reached and read."""

    mirror: str
    """The mirror's base URL, or ``''`` to fetch Sina itself."""
    mirror_inner_handler: str
    catchup_pages: int
    reachability_enabled: bool

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> SinaConfig:
        return cls(
            mirror=_SINA_MIRROR.read(settings),
            mirror_inner_handler=_SINA_MIRROR_INNER_HANDLER.read(settings),
            catchup_pages=_SINA_CATCHUP_PAGES.read(settings),
            reachability_enabled=_SINA_REACHABILITY_ENABLED.read(settings),
        )


@dataclass(frozen=True)
class RunConfig:
    """``RUN_*``: the run's progress lines, what fails it, and what it checks before it starts."""

    progress_enabled: bool
    progress_interval: float
    max_errors: int
    max_error_ratio: float
    max_fallback_ratio: float
    fallback_min_pages: int
    preflight: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RunConfig:
        return cls(
            progress_enabled=_RUN_PROGRESS_ENABLED.read(settings),
            progress_interval=_RUN_PROGRESS_INTERVAL.read(settings),
            max_errors=_RUN_MAX_ERRORS.read(settings),
            max_error_ratio=_RUN_MAX_ERROR_RATIO.read(settings),
            max_fallback_ratio=_RUN_MAX_FALLBACK_RATIO.read(settings),
            fallback_min_pages=_RUN_FALLBACK_MIN_PAGES.read(settings),
            preflight=_RUN_PREFLIGHT.read(settings),
        )


@dataclass(frozen=True)
class ReportConfig:
    """``REPORT_*``: the JSON report of each run."""

    enabled: bool
    folder: Path | None
    """None: the archive's own (``ARCHIVE_DIR/.newsspider/runs``)."""
    keep: int

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ReportConfig:
        return cls(
            enabled=_REPORT_ENABLED.read(settings),
            folder=_REPORT_DIR.read(settings),
            keep=_REPORT_KEEP.read(settings),
        )


@dataclass(frozen=True)
class WorkerConfig:
    """``WORKER_*``: the processes that parse pages, render bodies and write posts."""

    processes: int | None
    """None for ``auto`` (see :meth:`process_count`)."""
    task_timeout: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> WorkerConfig:
        return cls(
            processes=_WORKER_PROCESSES.read(settings),
            task_timeout=_WORKER_TASK_TIMEOUT.read(settings),
        )

    def process_count(self, auto_max: int) -> int:
        """The processes to start: the number given, or for ``auto`` none on one CPU, else one
        per CPU, at most ``auto_max``. (One per CPU rather than per CPU beyond the engine's: a
        worker waiting for a post's fsync leaves its CPU to the other.)"""
        if self.processes is not None:
            return self.processes
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return 0 if (cpus or 1) <= 1 else min(auto_max, cpus or 1)


class _FromSettings(Protocol):
    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self: ...


C = TypeVar("C", bound=_FromSettings)


def config_of(crawler: Crawler, cls: type[C]) -> C:
    """The crawl's configuration of type ``cls`` (a class with ``from_settings``), parsed once
    from the crawl's settings and kept by its :class:`ConfigAddon`. A crawler without that
    add-on (one built from a few settings, in a test) gets one parsed for the call."""
    holder = crawler.get_addon(ConfigAddon)
    if holder is None:
        return cls.from_settings(crawler.settings)
    return holder.parsed(cls)


@dataclass(frozen=True)
class Config:
    """The crawl's newsspider settings, every area parsed once (see the module docstring)."""

    archive: ArchiveConfig
    images: ImagesConfig
    warc: WarcConfig
    sina: SinaConfig
    run: RunConfig
    report: ReportConfig
    worker: WorkerConfig

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Config:
        return cls(
            archive=ArchiveConfig.from_settings(settings),
            images=ImagesConfig.from_settings(settings),
            warc=WarcConfig.from_settings(settings),
            sina=SinaConfig.from_settings(settings),
            run=RunConfig.from_settings(settings),
            report=ReportConfig.from_settings(settings),
            worker=WorkerConfig.from_settings(settings),
        )

    @classmethod
    def of(cls, crawler: Crawler) -> Config:
        """The crawl's configuration (:func:`config_of`)."""
        return config_of(crawler, cls)


class ConfigAddon:
    """newsspider's settings, as the first add-on in ``ADDONS``.

    * ``update_settings`` gives each old setting name given (:data:`RENAMED`) its new name's
      place, before any other add-on or component reads it, and logs one WARNING line for each.
      Built without a crawler (the crawl command's look at a run's settings before it starts,
      ``run_settings``), it renames without a word: the crawl's own add-on says it, once.
    * The instance Scrapy builds for a crawl keeps the crawl's configurations
      (:func:`config_of`), each parsed the first time a component asks for it: after every
      add-on has had its say.
    """

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler
        self._parsed: dict[type[Any], Any] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConfigAddon:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        for line in rename_deprecated(settings):
            if self.crawler is not None:
                logger.warning("%s", line, extra={"crawler": self.crawler})

    def parsed(self, cls: type[C]) -> C:
        """The crawl's ``cls`` configuration, parsed on first use."""
        if self.crawler is None:
            raise RuntimeError("ConfigAddon holds a crawl's configuration only when built for it")
        if cls not in self._parsed:
            self._parsed[cls] = cls.from_settings(self.crawler.settings)
        return cast(C, self._parsed[cls])
