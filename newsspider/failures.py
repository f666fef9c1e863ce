"""Why requests fail or are refused: one short reason for the stats, one line for the log."""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

# Failures that mean the host could not be reached at all.
UNREACHABLE = frozenset(
    {
        "DNSLookupError",
        "ConnectionRefusedError",
        "ConnectError",
        "TCPTimedOutError",
        "TimeoutError",
        "NoRouteError",
        "ConnectionLost",
        "ConnectionDone",
        "ResponseNeverReceived",
        "CannotListenError",
        "DownloadConnectionRefusedError",
        "DownloadTimeoutError",
        "CannotResolveHostError",
        "DownloadFailedError",
    }
)


class NotArchived(DropItem):
    """An article a pipeline does not pass on, and why: ``reason`` (a word) and a line for the
    log. The crawl's outcomes (:class:`newsspider.extensions.outcomes.ArticleOutcomes`) count it
    under ``sina/dropped/<reason>``, or ``sina/failed/<reason>`` when ``failed`` (the run's
    failure, not the page's: the error threshold counts it); Scrapy logs it once. Neither is
    indexed, so the next run fetches the article again."""

    def __init__(self, reason: str, detail: str, *, failed: bool = False) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.failed = failed


class Refused(IgnoreRequest):
    """A request newsspider will not make or follow. Counted as ``sina/dropped/<reason>``: the
    answer (or the URL) says it is no article to archive."""

    reason = "refused"


class OffSiteRequest(Refused):
    """A request for a host that is not Sina's (refused by the download handler)."""

    reason = "off_site_request"


class RedirectedOffSite(Refused):
    """A Sina page that redirects to a host that is not Sina's."""

    reason = "redirected_off_site"


class RedirectLoop(Refused):
    """A redirect chain that comes back to a URL it already visited, past ``REDIRECT_MAX_TIMES``."""

    reason = "redirect_loop"


class TooManyRedirects(Refused):
    """A redirect chain longer than ``REDIRECT_MAX_TIMES``."""

    reason = "too_many_redirects"


class ResponseTooLarge(Exception):
    """A response over ``DOWNLOAD_MAXSIZE``, whether or not it announced its length."""

    reason = "too_large"


@dataclass(frozen=True)
class FailureInfo:
    """``reason`` is a stats key part (``http_404``, ``DNSLookupError``); ``message`` a log line."""

    reason: str
    message: str
    status: int | None = None


def describe_failure(failure: Failure) -> FailureInfo:
    """A short, traceback-free description of why a request failed or was refused."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        return FailureInfo(f"http_{status}", f"HTTP {status}", status)
    if isinstance(exc, Refused | ResponseTooLarge):
        return FailureInfo(exc.reason, str(exc) or exc.reason)
    name = type(exc).__name__
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if "download max size" in detail or "DOWNLOAD_MAXSIZE" in detail:
        return FailureInfo("too_large", f"larger than DOWNLOAD_MAXSIZE ({detail})")
    return FailureInfo(name, f"{name}: {detail}" if detail else name)
