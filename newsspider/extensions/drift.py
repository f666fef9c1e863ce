"""Extraction drift: what each page template found, and a failed run when Sina's markup moved.

Every article page that reaches the pipelines (archived or dropped there) is counted under its
template, with the fields extraction found (stats under ``sina/template/<name>/``):

``pages``
    pages read with the template;
``found/<field>``
    of those, the pages that gave ``title``, ``date``, ``source``, ``body`` and ``headimg`` (the
    post's first image; a page dropped before its body is rendered has none);
``share/<field>``
    ``found/<field>`` / ``pages``, rounded to 3 places, set when the spider closes.

At the end of the run, with at least ``RUN_FALLBACK_MIN_PAGES`` pages, more than
``RUN_MAX_FALLBACK_RATIO`` of them read by the ``meta``/``generic`` fallbacks, or more than that
share of one Sina template's pages (it, too, with at least ``RUN_FALLBACK_MIN_PAGES``) without
a title, date or body, means the site changed under the templates: one ERROR line names the
templates, fields and a few example URLs, and the run fails (``extraction_drift``; ``scrapy
crawl`` exits 1).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from scrapy import signals

from newsspider.config import Config, RunConfig
from newsspider.extensions.reachability import FAILED_STAT
from newsspider.signals import page_extracted
from newsspider.sina.article import FALLBACK_TEMPLATES, TEMPLATES

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

PREFIX: Final = "sina/template/"
FIELDS: Final = ("title", "date", "source", "body", "headimg")
REQUIRED: Final = ("title", "date", "body")
"""Fields every page of a Sina template has; losing one is drift, not an odd page."""
SINA_TEMPLATES: Final = tuple(name for name in TEMPLATES if name not in FALLBACK_TEMPLATES)
DRIFT: Final = "extraction_drift"
"""The ``newsspider/run_failed`` reason."""
EXAMPLES: Final = 3
"""Example URLs the ERROR line gives per problem."""


@dataclass(frozen=True)
class DriftConfig:
    """What counts as drift: more than ``max_fallback_ratio`` (``RUN_MAX_FALLBACK_RATIO``) of
    the pages, once there are ``min_pages`` (``RUN_FALLBACK_MIN_PAGES``) of them."""

    max_fallback_ratio: float
    min_pages: int

    @classmethod
    def of_run(cls, run: RunConfig) -> DriftConfig:
        return cls(run.max_fallback_ratio, run.fallback_min_pages)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> DriftConfig:
        """The config ``settings`` give; :class:`ConfigError` for a value out of range. (A
        crawl's extension takes it from the crawl's :class:`Config`.)"""
        return cls.of_run(RunConfig.from_settings(settings))


@dataclass
class Examples:
    """A few URLs per problem: fallback pages, and pages of a template missing a field."""

    fallback: list[str] = field(default_factory=list)
    missing: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, template: str, url: str, found: list[str]) -> None:
        """Keep ``url`` as an example of what its page lacks, up to :data:`EXAMPLES` each."""
        if template in FALLBACK_TEMPLATES and len(self.fallback) < EXAMPLES:
            self.fallback.append(url)
        if template in SINA_TEMPLATES:
            for name in REQUIRED:
                urls = self.missing.setdefault((template, name), [])
                if name not in found and len(urls) < EXAMPLES:
                    urls.append(url)


def pages_of(stats: Mapping[str, Any], template: str) -> int:
    """Pages counted under ``template`` in ``stats``."""
    return int(stats.get(f"{PREFIX}{template}/pages", 0))


def found_of(stats: Mapping[str, Any], template: str, name: str) -> int:
    """Pages of ``template`` in ``stats`` that gave the field ``name``."""
    return int(stats.get(f"{PREFIX}{template}/found/{name}", 0))


def drift_problems(
    stats: Mapping[str, Any], config: DriftConfig, examples: Examples | None = None
) -> list[str]:
    """What in ``stats`` counts as extraction drift under ``config``, one phrase per problem
    (empty: none). Pure; ``examples`` only adds URLs to the phrases."""
    examples = examples or Examples()
    problems = []
    total = sum(pages_of(stats, name) for name in TEMPLATES)
    fallback = {name: pages_of(stats, name) for name in sorted(FALLBACK_TEMPLATES)}
    if (
        total >= max(config.min_pages, 1)
        and sum(fallback.values()) > config.max_fallback_ratio * total
    ):
        parts = ", ".join(f"{name} {count}" for name, count in fallback.items() if count)
        problems.append(
            f"{sum(fallback.values())} of {total} pages fell back to no Sina template "
            f"({parts}){_eg(examples.fallback)}"
        )
    for template in SINA_TEMPLATES:
        pages = pages_of(stats, template)
        if pages < max(config.min_pages, 1):
            continue
        for name in REQUIRED:
            missing = pages - found_of(stats, template, name)
            if missing > config.max_fallback_ratio * pages:
                urls = examples.missing.get((template, name), [])
                problems.append(f"{missing} of {pages} {template} pages have no {name}{_eg(urls)}")
    return problems


def _eg(urls: list[str]) -> str:
    return f", e.g. {' '.join(urls)}" if urls else ""


class ExtractionDrift:
    """Counts each article page under its template and the fields found (from the
    ``page_extracted`` signal, so every page extraction read counts, archived or not), sets
    the shares at the end, and fails a run whose pages drifted away from the Sina templates
    (see the module docstring)."""

    def __init__(self, crawler: Crawler, config: DriftConfig) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.config = config
        self.examples = Examples()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractionDrift:
        ext = cls(crawler, DriftConfig.of_run(Config.of(crawler).run))
        crawler.signals.connect(ext.observe, signal=page_extracted)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def observe(self, url: str, template: str, found: tuple[str, ...]) -> None:
        """Count one page read with ``template`` that gave the fields ``found``."""
        self.stats.inc_value(f"{PREFIX}{template}/pages")
        for name in found:
            self.stats.inc_value(f"{PREFIX}{template}/found/{name}")
        self.examples.add(template, url, list(found))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        values = self.stats.get_stats()
        for template in TEMPLATES:
            pages = pages_of(values, template)
            if pages:
                for name in FIELDS:
                    share = round(found_of(values, template, name) / pages, 3)
                    self.stats.set_value(f"{PREFIX}{template}/share/{name}", share)
        problems = drift_problems(values, self.config, self.examples)
        if not problems:
            return
        logger.error(
            "Extraction drift: %s (RUN_MAX_FALLBACK_RATIO=%s, RUN_FALLBACK_MIN_PAGES=%d); "
            "the Sina page templates may have changed; the run counts as failed.",
            "; ".join(problems),
            self.config.max_fallback_ratio,
            self.config.min_pages,
        )
        if not self.stats.get_value(FAILED_STAT):
            self.stats.set_value(FAILED_STAT, DRIFT)
