"""``scrapy archive_images``: the pictures of the archive's posts, stored or not.

    scrapy archive_images            # the report
    scrapy archive_images --retry    # fetch the missing pictures, then the report
    scrapy archive_images --json

Reports, for the live posts under ``ARCHIVE_DIR``, the pictures they show (the index records
them per post): how many are stored in ``ARCHIVE_IMAGES_DIR``, how many are not fetched by
design (off ``ARCHIVE_IMAGES_HOSTS``, or against the URL rules: the posts keep their remote
URLs), and which are missing: failing (the last fetch failed, with why), not tried yet, or whose
file is gone. Exit code 0 when nothing is missing, 1 when something is, 2 without an archive.

``--retry`` first runs the ``sina_pictures`` crawl, which fetches every missing picture (with
``ARCHIVE_IMAGES=save`` when pictures are off; posts are not rewritten, see the README), and
exits like a crawl when that run fails (75 when another run holds the archive).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import Counter
from typing import Any

from scrapy.exceptions import UsageError

from newsspider.archive.pictures import (
    FAILED,
    FILE_GONE,
    NOT_TRIED,
    ArchivePictures,
    archive_pictures,
)
from newsspider.commands.crawl import Command as CrawlCommand
from newsspider.config import (
    ArchiveConfig,
    ConfigError,
    ImagesConfig,
    ImagesMode,
    validate_settings,
)
from newsspider.exitcodes import FAILED as RUN_FAILED
from newsspider.exitcodes import OK

SHOWN = 20


class Command(CrawlCommand):
    """Report the archive's pictures; with ``--retry``, fetch the missing ones first."""

    def syntax(self) -> str:
        return "[--retry] [--json] [options]"

    def short_desc(self) -> str:
        return "Report the pictures of the archive's posts: stored, missing, failing (--retry)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        group = parser.add_argument_group("Pictures")
        group.add_argument("--retry", action="store_true", help="fetch the missing pictures first")
        group.add_argument("--json", action="store_true", help="print the report as JSON")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        if opts.retry and self.settings.get("ARCHIVE_IMAGES") in (None, "", ImagesMode.OFF.value):
            # Fetching pictures stores them, whatever the posts show.
            self.settings.set("ARCHIVE_IMAGES", ImagesMode.SAVE.value, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        try:
            validate_settings(self.settings)
            archive = ArchiveConfig.from_settings(self.settings)
            images = ImagesConfig.from_settings(self.settings)
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from None
        if not archive.root.is_dir():
            raise UsageError(f"no archive at {archive.root}", print_help=False)
        if opts.retry:
            super().run(["sina_pictures"], opts)
            if self.exitcode != OK:
                return
        report = archive_pictures(archive.root, images.folder_of(archive.root), images.hosts)
        if opts.json:
            print(json.dumps(as_json(report), ensure_ascii=False, indent=1))
        else:
            print(f"archive: {archive.root}")
            print(f"pictures: {images.folder_of(archive.root)}")
            print(render(report))
        self.exitcode = RUN_FAILED if report.census.missing else OK


def as_json(report: ArchivePictures) -> dict[str, Any]:
    """The report as JSON: the census, with the missing pictures in full."""
    census = report.census
    return {
        "posts": report.posts,
        "posts_read_from_files": report.read_from_files,
        "referenced": census.referenced,
        "stored": census.stored,
        "not_fetched": census.not_fetched,
        "missing": [dataclasses.asdict(picture) for picture in census.missing],
        "failing": len(census.failing),
    }


def render(report: ArchivePictures) -> str:
    """The report as text: the counts, then at most ``SHOWN`` missing pictures."""
    census = report.census
    why = Counter(picture.why for picture in census.missing)
    reasons = Counter(picture.reason for picture in census.failing)
    lines = [
        f"posts: {report.posts}; pictures they show: {census.referenced}",
        f"stored: {census.stored}",
        f"not fetched (the posts keep their remote URLs): {sum(census.not_fetched.values())}"
        + _detail(census.not_fetched),
        f"missing: {len(census.missing)}",
        f"  failing: {why[FAILED]}" + _detail(reasons),
        f"  not tried yet: {why[NOT_TRIED]}",
        f"  stored once, file gone: {why[FILE_GONE]}",
    ]
    for picture in census.missing[:SHOWN]:
        state = f"{picture.why}: {picture.reason}" if picture.reason else picture.why
        lines.append(f"  {picture.url} ({state}; {picture.posts} post(s))")
    if len(census.missing) > SHOWN:
        lines.append(f"  … and {len(census.missing) - SHOWN} more (--json lists all)")
    if census.missing:
        lines.append("scrapy archive_images --retry fetches the missing pictures")
    if report.read_from_files:
        lines.append(
            f"read from their files: the pictures of {report.read_from_files} post(s) the index "
            "does not record yet (the next run that writes the archive records them)"
        )
    return "\n".join(lines)


def _detail(counts: dict[str, int] | Counter[Any]) -> str:
    if not counts:
        return ""
    return " (" + ", ".join(f"{key} {n}" for key, n in sorted(counts.items(), key=str)) + ")"
