"""``scrapy crawl`` with clear start-up errors and an exit code schedulers can trust.

* Spider arguments and ``ARCHIVE_*``/``SINA_*`` settings are checked before the crawl starts;
  a bad value stops the run with one usage line instead of a traceback.
* The archive lock is taken before the crawl starts: a second run on the same archive stops at
  once with one line and exit code 75 (or waits ``ARCHIVE_LOCK_WAIT`` seconds for it).
* Scrapy's own command exits 1 only when the crawler could not start. A run that started exits
  with what its stats say (:func:`newsspider.exitcodes.exit_code`): 1 when its work was not
  done, 70 for an internal error, 130/143 when SIGINT/SIGTERM stopped it.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

from newsspider.archive import lock
from newsspider.config import ArchiveConfig, ConfigError, validate_settings
from newsspider.exitcodes import FAILED, LOCKED, exit_code

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler


def run_settings(settings: BaseSettings, spidercls: type[Spider]) -> BaseSettings:
    """The settings the crawl of ``spidercls`` will run with, before it starts: a copy of
    ``settings`` with the spider's ``custom_settings`` and the add-ons (``ADDONS``) applied, so
    that what an add-on decides (``ARCHIVE_WRITES``, ``RUN_PREFLIGHT``) is known in time."""
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
        try:
            super().run(args, opts)
        finally:
            if self.settings is not None:
                lock.release(ArchiveConfig.from_settings(self.settings).root)
        if self.exitcode == 0:
            self.exitcode = self._run_exit_code()

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
        """Check settings and spider arguments, take the archive lock; False to stop here."""
        assert self.settings is not None
        try:
            validate_settings(self.settings)
            check = getattr(spidercls, "check_arguments", None)
            if check is not None:
                check(**opts.spargs)
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from None
        spider_settings = run_settings(self.settings, spidercls)
        for check in spider_settings.getlist("RUN_PREFLIGHT"):
            try:
                problem = load_object(check)(spider_settings)
            except ConfigError as exc:
                raise UsageError(str(exc), print_help=False) from None
            if problem is not None:  # a service the run needs is not there: nothing is done
                print(f"newsspider: {problem}", file=sys.stderr)
                self.exitcode = FAILED
                return False
        if not spider_settings.getbool("ARCHIVE_WRITES"):
            return True  # a process that never writes the archive leaves its lock alone
        config = ArchiveConfig.from_settings(self.settings)
        try:
            lock.acquire(config.root, wait=config.lock_wait)
        except lock.ArchiveLockedError as exc:
            print(f"newsspider: {exc}", file=sys.stderr)
            self.exitcode = LOCKED
            return False
        return True

    def _run_exit_code(self) -> int:
        if self._started is None:
            return 0
        try:
            stats = self._started.stats
        except RuntimeError:  # the crawl never started
            return 0
        return exit_code(stats.get_stats()) if stats is not None else 0
