"""Log lines that stay one line: dropped items are named by URL and reason, not dumped."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.logformatter import LogFormatter, LogFormatterResult

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.http import Response
    from twisted.python.failure import Failure


class NewsLogFormatter(LogFormatter):
    """Like Scrapy's, but an item is named by its URL, never dumped (a body is kilobytes): a
    dropped item logs ``Dropped <url>: <reason>`` at INFO, an item error
    ``Error processing <url>`` at ERROR (Scrapy adds the traceback)."""

    def dropped(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        url = getattr(item, "url", None) or "item"
        return {
            # An article lost to a failure (a dead worker) is a warning; a page that is no
            # article to archive is not.
            "level": logging.WARNING if getattr(exception, "failed", False) else logging.INFO,
            "msg": "Dropped %(url)s: %(exception)s",
            "args": {"url": url, "exception": exception},
        }

    def item_error(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        return {
            "level": logging.ERROR,
            "msg": "Error processing %(url)s (internal error)",
            "args": {"url": getattr(item, "url", None) or "item"},
        }
