"""Name download failures: one short reason for the stats, one line for the log."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class FailureInfo:
    """``reason`` is a stats key part (``http_404``, ``DNSLookupError``); ``message`` a log line."""

    reason: str
    message: str
    status: int | None = None


def describe_failure(failure: Failure) -> FailureInfo:
    """A short, traceback-free description of why a request failed."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        return FailureInfo(f"http_{status}", f"HTTP {status}", status)
    name = type(exc).__name__
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if "download max size" in detail or "DOWNLOAD_MAXSIZE" in detail:
        return FailureInfo("too_large", f"larger than DOWNLOAD_MAXSIZE ({detail})")
    return FailureInfo(name, f"{name}: {detail}" if detail else name)
