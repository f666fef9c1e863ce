"""``scrapy crawl`` with clear start-up errors and an exit code schedulers can trust.

* Spider arguments and ``ARCHIVE_*``/``SINA_*`` settings are checked before the crawl starts;
  a bad value stops the run with one usage line instead of a traceback.
* A second run on the same archive stops before anything is fetched, with one line and exit
  code 75 (or waits ``ARCHIVE_LOCK_WAIT`` seconds for the lock): the crawl's archive owner
  (:class:`newsspider.extensions.archive.CrawlArchive`) takes the lock as the crawl is built.
* Scrapy's own command exits 1 only when the crawler could not start. A run that started exits
  with what its stats say (:func:`newsspider.exitcodes.exit_code`): 1 when its work was not
  done, 70 for an internal error, 130/143 when SIGINT/SIGTERM stopped it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object
from twisted.internet.defer import Deferred

from newsspider.archive.lock import ArchiveLockedError
from newsspider.config import ConfigError, RunConfig, validate_settings
from newsspider.exitcodes import FAILED, LOCKED, exit_code

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)


def run_settings(settings: BaseSettings, spidercls: type[Spider]) -> BaseSettings:
    """The settings the crawl of ``spidercls`` will run with, before it starts: a copy of
    ``settings`` with the spider's ``custom_settings`` and the add-ons (``ADDONS``) applied, so
    that what an add-on decides (``RUN_PREFLIGHT``) is known in time."""
    merged = settings.copy()
    spidercls.update_settings(merged)
    addons = merged.getwithbase("ADDONS")
    for path, _priority in sorted(addons.items(), key=lambda pair: pair[1] or 0):
        if _priority is None:
            continue
        addon = load_object(path)()
        if hasattr(addon, "update_settings"):
            addon.update_settings(merged)
    return merged


class Command(ScrapyCrawlCommand):
    """Run a spider; exit with the code its stats call for (see the module docstring)."""

    _started: Crawler | None = None

    def _create_crawler(self, spname: type[Spider] | str) -> Crawler:
        crawler: Crawler = super()._create_crawler(spname)
        self._started = crawler
        return crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        spidercls = self._spider_class(args)
        if spidercls is not None and not self._prepare(spidercls, opts):
            return
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's usage errors
            return
        assert self.crawler_process is not None
        started = self.crawler_process.crawl(self._create_crawler(args[0]), **opts.spargs)
        if isinstance(started, Deferred):
            started.addErrback(self._errback)
        else:  # AsyncCrawlerProcess: an asyncio future
            started.add_done_callback(self._crawl_done)  # type: ignore[attr-defined]
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed and self.exitcode == 0:
            self.exitcode = FAILED
        if self.exitcode == 0:
            self.exitcode = self._run_exit_code()

    def _errback(self, failure: Failure) -> None:
        self._not_started(failure.value or RuntimeError(failure.getErrorMessage()))

    def _crawl_done(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            self._not_started(future.exception())

    def _not_started(self, error: BaseException) -> None:
        """The crawl could not be built or did not run: another run holds the archive (one
        line, exit 75), or anything else (logged once, with its traceback; exit 1)."""
        if isinstance(error, ArchiveLockedError):
            print(f"newsspider: {error}", file=sys.stderr)
            self.exitcode = LOCKED
            return
        logger.error("The crawl stopped: %s", error, exc_info=error)
        self.exitcode = FAILED

    def _spider_class(self, args: list[str]) -> type[Spider] | None:
        """The spider class named in ``args`` (None without one); an unknown name is a usage
        error that lists the spiders."""
        if not args or self.crawler_process is None:
            return None
        loader = self.crawler_process.spider_loader
        try:
            spidercls: type[Spider] = loader.load(args[0])
        except KeyError:
            names = ", ".join(sorted(loader.list()))
            raise UsageError(f"no spider {args[0]!r}; spiders: {names}", print_help=False) from None
        return spidercls

    def _prepare(self, spidercls: type[Spider], opts: argparse.Namespace) -> bool:
        """Check settings, spider arguments and the run's preflight checks; False to stop."""
        assert self.settings is not None
        try:
            validate_settings(self.settings)
            check = getattr(spidercls, "check_arguments", None)
            if check is not None:
                check(**opts.spargs)
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from None
        spider_settings = run_settings(self.settings, spidercls)
        for check in RunConfig.from_settings(spider_settings).preflight:
            try:
                problem = load_object(check)(spider_settings)
            except ConfigError as exc:
                raise UsageError(str(exc), print_help=False) from None
            if problem is not None:  # a service the run needs is not there: nothing is done
                print(f"newsspider: {problem}", file=sys.stderr)
                self.exitcode = FAILED
                return False
        return True

    def _run_exit_code(self) -> int:
        if self._started is None:
            return 0
        try:
            stats = self._started.stats
        except RuntimeError:  # the crawl never started
            return 0
        if stats is None:
            return 0
        values = stats.get_stats()
        if "finish_reason" not in values:
            # Scrapy's core stats set it when the spider closes. A crawl stopped while it was
            # still starting (a SIGTERM before the engine ran) ends without closing the spider:
            # its work was not done.
            logger.error("The crawl was stopped before it started; nothing was done")
            return FAILED
        return exit_code(values)
