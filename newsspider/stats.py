"""The names of newsspider's stats, in one place.

Each area counts under its own prefix: ``sina/`` (what was fetched from Sina and what became of
it), ``archive/`` (what was written), ``images/`` (the posts' pictures), ``workers/`` (the worker
processes), ``run/`` (the run's verdict) and ``distributed/`` (the distributed mode, in its own
package). Counts by reason are the prefix plus the reason (``sina/dropped/no_body``);
:func:`by_reason` is their one reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# --- articles not archived (ArticleOutcomes counts them) ----------------------------------------
DROPPED: Final = "sina/dropped/"
"""+ reason: an answer that is no article to archive; the next run asks again if it is listed."""
FAILED: Final = "sina/failed/"
"""+ reason: a request or an article that failed; counts toward ``RUN_MAX_ERRORS``."""
INTERNAL_ERROR: Final = FAILED + "internal_error"
"""A bug: an exception escaped a callback or a pipeline (exit 70)."""

# --- the roll ---------------------------------------------------------------------------------
ROLL_PAGES: Final = "sina/roll/pages"
ROLL_ITEMS: Final = "sina/roll/items"
ROLL_FAILED: Final = "sina/roll/failed/"
"""+ reason: a roll page that could not be used; counts toward ``RUN_MAX_ERRORS``."""
ROLL_REACHED: Final = "sina/roll/reached"
ROLL_KNOWN: Final = "sina/roll/known"
ROLL_GIVEN_UP: Final = "sina/roll/given_up"
ROLL_REPAIRED: Final = "sina/roll/repaired"
ROLL_OUTSIDE_WINDOW: Final = "sina/roll/outside_window"
ROLL_STATE: Final = "sina/roll/"
"""+ ``new`` or ``changed``: listed articles asked for (``known`` ones are not)."""
TEMPLATE: Final = "sina/template/"
"""+ template: pages read with it (and ``<template>/pages``, ``/found/<field>`` for drift)."""
UNREACHABLE: Final = "sina/unreachable"
REFRESH_CHECKED: Final = "refresh/checked"

# --- the archive ------------------------------------------------------------------------------
ARCHIVE_NEW: Final = "archive/new"
ARCHIVE_UPDATED: Final = "archive/updated"
ARCHIVE_WRITTEN: Final = "archive/written"
ARCHIVE_UNCHANGED: Final = "archive/unchanged"
ARCHIVE_ADOPTED: Final = "archive/adopted"
ARCHIVE_GONE: Final = "archive/gone"
ARCHIVE_HISTORY: Final = "archive/history"
ARCHIVE_BODY: Final = "archive/body/"
"""+ body mode: posts made in it."""
ARCHIVE_TEMP_REMOVED: Final = "archive/temp_removed"
ARCHIVE_RECOVERED: Final = "archive/recovered"
ARCHIVE_REPAIRED: Final = "archive/repaired"
WARC_PAGES: Final = "archive/warc/pages"
"""Article pages recorded in WARC (``ARCHIVE_WARC``)."""
WARC_ROLLS: Final = "archive/warc/rolls"
"""Roll pages recorded in WARC."""
WARC_SKIPPED: Final = "archive/warc/skipped/"
"""+ reason: a page not recorded (``encoding``: a Content-Encoding no WARC reader decodes)."""
REBUILD_NO_CAPTURE: Final = "rebuild/no_capture"
"""Articles ``scrapy rebuild`` selected without a capture (archived with ``ARCHIVE_WARC`` off)."""
REBUILD_UNREADABLE: Final = "rebuild/unreadable"
"""Articles whose capture could not be read back (a cut-off or damaged WARC file)."""
REBUILD_READ: Final = "rebuild/read"
"""Captures read and passed to the pipelines."""

# --- the posts' pictures (ARCHIVE_IMAGES; PicturePipeline counts them) ------------------------
IMAGES_STORED: Final = "images/stored"
"""Pictures fetched and written to a new file."""
IMAGES_SAME_CONTENT: Final = "images/same_content"
"""Pictures fetched whose bytes were stored already (under another URL): no new file."""
IMAGES_ALREADY: Final = "images/already"
"""Pictures of a post stored by an earlier post or run: not fetched."""
IMAGES_REQUESTS: Final = "images/requests"
"""Picture requests sent (each attempt: retries too); part of ``downloader/request_count``."""
IMAGES_RETRIED: Final = "images/retried"
"""Pictures an earlier run could not store, asked for again."""
IMAGES_FAILED: Final = "images/failed/"
"""+ reason: a picture not stored (``http_404``, ``too_large``, ``not_image``, …); not a failure
of the run: the next run tries it again."""
IMAGES_SKIPPED: Final = "images/skipped/"
"""+ reason: a picture not fetched by rule (``off_site``: not on ``ARCHIVE_IMAGES_HOSTS``;
``userinfo``, ``port``, ``bad_host``, …: a URL the trust rules refuse)."""

# --- the run's verdict (newsspider.exitcodes reads it) -------------------------------------------
RUN_FAILED: Final = "newsspider/run_failed"
"""Why the run failed (a word: ``sina_unreachable``, ``too_many_errors``, …); exit 1."""
RUN_INTERRUPTED: Final = "newsspider/interrupted"
"""The signal that stopped the run (``SIGINT``, ``SIGTERM``)."""


def dropped(reason: str) -> str:
    return DROPPED + reason


def failed(reason: str) -> str:
    return FAILED + reason


def by_reason(stats: Mapping[str, Any], prefix: str) -> dict[str, int]:
    """The counts under ``prefix`` (one of the ``…/`` names above), by reason."""
    return {
        key.removeprefix(prefix): int(value)
        for key, value in stats.items()
        if key.startswith(prefix) and isinstance(value, int) and not isinstance(value, bool)
    }
