"""``scrapy archive_import``: bring an archive the older pipeline wrote into ``ARCHIVE_DIR``.

    scrapy archive_import /path/to/RSSHUB-PAGE                 # a git repository: every commit
    scrapy archive_import /path/to/source/_posts --no-git      # a plain folder of posts
    scrapy archive_import … --dry-run                          # say what would happen
    scrapy archive_import … --normalize                        # posts in today's exact format

One post per article under the archive's layout, every distinct earlier version as history,
and a summary (:meth:`newsspider.importing.importer.ImportSummary.line`). The source is only
read. Exit codes: 0 when the import was done (unreadable posts are listed, not fatal), 2 for a
path that is not a folder or (without ``--no-git``) not a git repository, or a bad setting; 75
when a run holds the archive.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newsspider.archive.index import ArchiveIndex
from newsspider.archive.lock import ArchiveLockedError
from newsspider.config import ArchiveConfig, ConfigError
from newsspider.exitcodes import LOCKED, OK
from newsspider.importing.importer import Importer, ImportSummary
from newsspider.importing.ledger import ImportLedger
from newsspider.importing.legacy import path_selection, sina_channel
from newsspider.importing.sources import FolderSource, GitSource, NotASource, Source

logger = logging.getLogger(__name__)

SHOWN = 50


class Command(ScrapyCommand):
    """Import legacy posts from a git repository's history or a folder."""

    requires_project = True
    default_settings: ClassVar[dict[str, Any]] = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "PATH [--no-git] [--dry-run] [--normalize] [--path GLOB …]"

    def short_desc(self) -> str:
        return "Import an existing archive (a site's git history, or a folder of posts)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        group = parser.add_argument_group("Import")
        group.add_argument("--no-git", action="store_true", help="PATH is a plain folder of posts")
        group.add_argument("--dry-run", action="store_true", help="say what would happen only")
        group.add_argument(
            "--normalize", action="store_true", help="rewrite posts into today's exact format"
        )
        group.add_argument(
            "--path",
            action="append",
            metavar="GLOB",
            help="import the posts whose path matches GLOB instead of the Sina Finance folders "
            "(repeatable; the channel is the post's folder)",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 1:
            raise UsageError("give one PATH: a git repository, or a folder with --no-git")
        try:
            config = ArchiveConfig.from_settings(self.settings)
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from None
        path = Path(args[0])
        select = path_selection(opts.path) if opts.path else None
        try:
            source: Source = (
                FolderSource(path, exclude=config.root, select=select or sina_channel)
                if opts.no_git
                else GitSource(path, select=select)
            )
        except NotASource as exc:
            raise UsageError(str(exc), print_help=False) from None
        try:
            summary = self._import(source, config, opts)
        finally:
            source.close()
        if summary is None:
            self.exitcode = LOCKED
            return
        print(render(summary))
        self.exitcode = OK

    def _import(
        self, source: Source, config: ArchiveConfig, opts: argparse.Namespace
    ) -> ImportSummary | None:
        """The import (or the dry run) into the archive; None when a run holds it."""
        if opts.dry_run:
            return self._dry_run(source, config)
        try:
            store = config.open_store()
        except ArchiveLockedError as exc:
            print(f"newsspider: {exc}", file=sys.stderr)
            return None
        ledger = ImportLedger(config.root)
        try:
            return Importer(source, ledger, store, normalize=opts.normalize).run(_progress)
        finally:
            ledger.close()
            store.close()

    def _dry_run(self, source: Source, config: ArchiveConfig) -> ImportSummary:
        ledger = ImportLedger(config.root, read_only=True)
        index = ArchiveIndex.read_only(config.root)
        try:
            return Importer(source, ledger, None, index=index).run(_progress)
        finally:
            index.close()
            ledger.close()


def _progress(commits: int, found: int) -> None:
    if commits:
        logger.info("Import: %s commits read, %s Sina posts found", f"{commits:,}", f"{found:,}")
    else:
        logger.info("Import: %s Sina posts found", f"{found:,}")


def render(summary: ImportSummary) -> str:
    """The summary as text: the two summary lines, the counts of unreadable posts by reason,
    then the repaired and the unreadable posts (at most ``SHOWN`` of each)."""
    lines = [summary.line(), summary.archive_line()]
    if summary.unreadable_reasons:
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(summary.unreadable_reasons.items()))
        lines.append(f"unreadable by reason: {reasons}")
    for title, entries in (("repaired", summary.repaired), ("unreadable", summary.unreadable)):
        if entries:
            lines.append(f"{title}:")
            lines += [f"  {entry}" for entry in entries[:SHOWN]]
            if len(entries) > SHOWN:
                lines.append(f"  … and {len(entries) - SHOWN} more (in the log)")
    return "\n".join(lines)
