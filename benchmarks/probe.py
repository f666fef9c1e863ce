"""A Scrapy extension that records what the benchmark needs of one crawl, through signals only.

Enabled by the harness with ``-s BENCH_PROBE_FILE=PATH`` and this class added to
``EXTENSIONS_BASE`` (so the project's own ``EXTENSIONS`` stay as they are). It writes ``PATH``
as JSON at ``spider_closed`` and again at interpreter exit:

* ``stats``: the crawl's final stats (taken at ``spider_closed``);
* ``requests``: the requests that reached the downloader, by kind (``roll``, ``robots``,
  ``page``: anything else), counted from ``request_reached_downloader``, and also added to the
  stats as ``bench/requests/<kind>``;
* ``engine_seconds``: ``engine_started`` to ``spider_closed``;
* ``at_start``, ``at_close``, ``at_exit``: ``getrusage`` of this process (``self``: all its
  threads) and of its reaped children (``children``), CPU seconds and peak RSS in KiB.

It imports nothing from newsspider, so it measures any spider the same way.
"""

from __future__ import annotations

import atexit
import json
import resource
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

ROLL_PATH = "feed.mix.sina.com.cn/api/roll/"


def usage() -> dict[str, dict[str, float]]:
    """CPU seconds (user + system) and peak RSS (KiB) of this process and its reaped children."""
    found = {}
    for name, who in (("self", resource.RUSAGE_SELF), ("children", resource.RUSAGE_CHILDREN)):
        ru = resource.getrusage(who)
        found[name] = {"cpu": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss}
    return found


def request_kind(url: str) -> str:
    """``roll`` (the roll API, on Sina or on a mirror), ``robots`` or ``page``."""
    if ROLL_PATH in url:
        return "roll"
    return "robots" if url.split("?", 1)[0].endswith("/robots.txt") else "page"


class Probe:
    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path
        self.data: dict[str, Any] = {"requests": {"roll": 0, "robots": 0, "page": 0}}
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Probe:
        path = crawler.settings.get("BENCH_PROBE_FILE")
        if not path:
            raise NotConfigured
        probe = cls(crawler, Path(path))
        crawler.signals.connect(probe.engine_started, signal=signals.engine_started)
        crawler.signals.connect(probe.request_reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(probe.spider_closed, signal=signals.spider_closed)
        atexit.register(probe.at_exit)
        return probe

    def engine_started(self) -> None:
        self.started = time.monotonic()
        self.data["at_start"] = usage()

    def request_reached(self, request: Request) -> None:
        kind = request_kind(request.url)
        self.data["requests"][kind] += 1
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"bench/requests/{kind}")

    def spider_closed(self) -> None:
        self.data["engine_seconds"] = time.monotonic() - self.started
        self.data["at_close"] = usage()
        if self.crawler.stats is not None:
            self.data["stats"] = self.crawler.stats.get_stats()
        self.write()

    def at_exit(self) -> None:
        self.data["at_exit"] = usage()
        self.write()

    def write(self) -> None:
        text = json.dumps(self.data, default=str, indent=1)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.path)
