"""``scrapy archive_index``: the archive index against the posts on disk.

Lists posts on disk that are not indexed, index rows whose post is missing, and counts by
channel. Exit code 0 when they agree, 1 when they do not. ``--json`` prints the report as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newsspider.archive.audit import audit
from newsspider.archive.index import ArchiveIndex
from newsspider.config import ArchiveConfig, ConfigError

SHOWN = 20


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
        index = ArchiveIndex(config.root)
        try:
            report = audit(config.root, index)
        finally:
            index.close()
        if opts.json:
            print(json.dumps(dataclasses.asdict(report), ensure_ascii=False, indent=1))
        else:
            print(f"archive: {config.root}")
            print(f"posts on disk: {report.posts_on_disk}; indexed articles: {report.indexed}")
            for title, paths in (
                ("posts on disk not indexed", report.unindexed_posts),
                ("index rows whose post is missing", report.missing_files),
            ):
                print(f"{title}: {len(paths)}")
                for path in paths[:SHOWN]:
                    print(f"  {path}")
                if len(paths) > SHOWN:
                    print(f"  … and {len(paths) - SHOWN} more (--json lists all)")
            print("by channel:")
            for channel, statuses in sorted(report.by_channel.items()):
                detail = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
                print(f"  {channel}: {detail}")
        self.exitcode = 0 if report.consistent else 1
