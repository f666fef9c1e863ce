"""``scrapy archive_index``: the archive index against the posts on disk.

Lists posts on disk that are not indexed, index rows whose post is missing, posts that several
index rows claim, posts whose bytes do not match their row's sha256, and counts by channel.
Exit code 0 when index and files agree, 1 when they do not, 75 when a run holds the archive
(what it has half written is no difference). ``--json`` prints the report as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newsspider.archive import lock
from newsspider.archive.audit import AuditReport, IndexSnapshot, compare
from newsspider.archive.index import ArchiveIndex
from newsspider.config import ArchiveConfig, ConfigError
from newsspider.exitcodes import LOCKED

SHOWN = 20


class ArchiveBusy(Exception):
    """A run holds, or took during the check, the archive lock."""


def _holder(root: Path) -> str:
    """What the lock file says about its holder (``newsspider pid … since …``)."""
    try:
        return lock.lock_path(root).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def _snapshot(root: Path) -> IndexSnapshot:
    index = ArchiveIndex.read_only(root)
    try:
        return IndexSnapshot.read(index)
    finally:
        index.close()


def check_archive(root: Path) -> AuditReport:
    """The audit of the archive at ``root``, taken while no run writes it.

    The lock is taken without waiting, and only while the index is read: the long part,
    reading and hashing every post, runs without it, so a crawl that starts meanwhile is not
    turned away. Every run that takes the lock writes its pid into the lock file, so the file
    still naming this check afterwards proves no run wrote in between. Raises ``ArchiveBusy``
    when one holds the lock, or took it during the check.
    """
    if not lock.lock_path(root).parent.is_dir():
        # No run ever wrote here (a plain folder of posts): nothing to lock, nothing to create.
        return compare(root, _snapshot(root))
    held = lock.ArchiveLock(root)
    try:
        held.acquire()
    except lock.ArchiveLockedError:
        raise ArchiveBusy(
            f"the archive {root} is in use by {_holder(root) or 'another process'}; "
            "check it again when that run is done"
        ) from None
    try:
        mark = _holder(root)
        snapshot = _snapshot(root)
    finally:
        held.release()
    report = compare(root, snapshot)
    if _holder(root) != mark:
        raise ArchiveBusy(
            f"a run began writing the archive {root} during the check; "
            "check it again when that run is done"
        )
    return report


class Command(ScrapyCommand):
    """Report the archive index against the files."""

    requires_project = True
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        return "Compare the archive index with the posts on disk (ARCHIVE_DIR)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            config = ArchiveConfig.from_settings(self.settings)
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from None
        if not config.root.is_dir():
            raise UsageError(f"no archive at {config.root}", print_help=False)
        try:
            report = check_archive(config.root)
        except ArchiveBusy as exc:
            print(f"newsspider: {exc}", file=sys.stderr)
            self.exitcode = LOCKED
            return
        if opts.json:
            print(json.dumps(dataclasses.asdict(report), ensure_ascii=False, indent=1))
        else:
            print(f"archive: {config.root}")
            print(render(report))
        self.exitcode = 0 if report.consistent else 1


def render(report: AuditReport) -> str:
    """The report as text: the same sections as the JSON, at most ``SHOWN`` paths each."""
    lines = [f"posts on disk: {report.posts_on_disk}; indexed articles: {report.indexed}"]
    shared = [f"{path}: {', '.join(urls)}" for path, urls in report.duplicate_rows.items()]
    for title, entries in (
        ("posts on disk not indexed", report.unindexed_posts),
        ("index rows whose post is missing", report.missing_files),
        ("posts claimed by several index rows", shared),
        ("posts whose bytes differ from their index row (sha256)", report.hash_mismatches),
    ):
        lines.append(f"{title}: {len(entries)}")
        lines += [f"  {entry}" for entry in entries[:SHOWN]]
        if len(entries) > SHOWN:
            lines.append(f"  … and {len(entries) - SHOWN} more (--json lists all)")
    lines.append("by channel:")
    for channel, statuses in sorted(report.by_channel.items()):
        detail = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
        lines.append(f"  {channel}: {detail}")
    lines.append("by origin:")
    lines += [f"  {origin}: {n}" for origin, n in sorted(report.by_origin.items())]
    return "\n".join(lines)
