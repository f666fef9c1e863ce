"""Exit codes of ``scrapy crawl`` and ``scrapy refresh``, and how a run's stats decide them.

One function, :func:`exit_code`, reads what a run recorded in its stats; the crawl command exits
with it and the run report records it, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from newsspider import stats

OK: Final = 0
"""The run did its work."""
FAILED: Final = 1
"""The run started but its work was not done: Sina unreachable, too many errors, extraction
drift, a channel given up, a distributed run left incomplete."""
USAGE: Final = 2
"""A bad argument or setting (one ``scrapy: error:`` line); nothing was done."""
INTERNAL_ERROR: Final = 70
"""An unexpected exception in newsspider's own code (EX_SOFTWARE); the log has its traceback."""
LOCKED: Final = 75
"""Another run holds the archive lock (EX_TEMPFAIL); nothing was done."""
INTERRUPTED: Final = {"SIGINT": 130, "SIGTERM": 143}
"""Stopped by a signal before it finished (128 + the signal's number)."""

# The stats the verdict reads (named in newsspider.stats): what set the run's failure, the signal
# that stopped it, and the internal errors counted.
FAILED_STAT: Final = stats.RUN_FAILED
INTERRUPTED_STAT: Final = stats.RUN_INTERRUPTED
INTERNAL_ERROR_STAT: Final = stats.INTERNAL_ERROR


def verdict(stats: Mapping[str, Any]) -> tuple[int, str]:
    """The exit code of a run that started, from its stats, with a word for it (for reports
    and summary lines): interrupted (``interrupted (<signal>)``), then internal error, then
    failed (``failed (<reason>)``), else 0 (``finished``)."""
    signal = stats.get(INTERRUPTED_STAT)
    if signal:
        return INTERRUPTED.get(str(signal), FAILED), f"interrupted ({signal})"
    if stats.get(INTERNAL_ERROR_STAT):
        return INTERNAL_ERROR, "internal error"
    reason = stats.get(FAILED_STAT)
    if reason:
        return FAILED, f"failed ({reason})"
    return OK, "finished"


def exit_code(stats: Mapping[str, Any]) -> int:
    """The exit code :func:`verdict` gives."""
    return verdict(stats)[0]


def outcome(stats: Mapping[str, Any]) -> str:
    """The word :func:`verdict` gives."""
    return verdict(stats)[1]
