"""``scrapy archive_history``: the versions of one archived article, and what changed.

    scrapy archive_history URL|POST_PATH            # the versions: when, why, sha256, size
    scrapy archive_history URL --diff               # the diff of each version from the one before
    scrapy archive_history URL --diff 1 3           # two versions: numbers or sha256 prefixes
    scrapy archive_history URL --json               # for scripts (with --diff, the diffs too)

Reads only, without the archive lock: it works beside a running crawl (which may not have
committed the records of its last few writes: those versions show as ``unknown`` until it does).
Exit code 0; 2 for a bad argument, an archive folder that does not exist, an article the archive
does not hold, or a version it does not have (one ``newsspider:`` line); 1 when a diff asked for
cannot be made because a version's bytes are not kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newsspider.archive.history import (
    ArticleHistory,
    NoSuchVersion,
    Version,
    article_history,
    pick_version,
    text_diff,
    version_bytes,
)
from newsspider.archive.index import ArchiveIndex
from newsspider.config import ArchiveConfig, ConfigError
from newsspider.exitcodes import FAILED, OK, USAGE


@dataclasses.dataclass(frozen=True)
class Diff:
    """The diff from version ``old`` to version ``new``: its text (``binary``: one of them is
    not UTF-8 text, so none), or ``missing`` when a version's bytes are not kept."""

    old: int
    new: int
    text: str = ""
    binary: bool = False
    missing: bool = False


class Command(ScrapyCommand):
    """List an article's versions; with ``--diff``, show what changed between them."""

    requires_project = True
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "URL|POST_PATH [--diff [A B]] [--json]"

    def short_desc(self) -> str:
        return "List the versions of an archived article (when, why, sha256, size); --diff"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--diff",
            nargs="*",
            metavar="A B",
            help="diff each version from the one before, or version A to version B "
            "(numbers in the list, or sha256 prefixes)",
        )
        parser.add_argument("--json", action="store_true", help="print the history as JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 1:
            raise UsageError("give one article: its URL or its post's path")
        if opts.diff is not None and len(opts.diff) not in (0, 2):
            raise UsageError("--diff takes no version or two (A B)")
        try:
            config = ArchiveConfig.from_settings(self.settings)
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from None
        root = config.root
        if not root.is_dir():
            self._fail(f"no archive at {root}")
            return
        index = ArchiveIndex.read_only(root)
        try:
            history = article_history(root, index, args[0])
        finally:
            index.close()
        if history is None:
            self._fail(f"no article {args[0]} in the archive {root}")
            return
        diffs: list[Diff] = []
        if opts.diff is not None:
            try:
                pairs = _pairs(history.versions, opts.diff)
            except NoSuchVersion as exc:
                self._fail(f"{exc} (of {history.path})")
                return
            diffs = [_diff(root, history.path, old, new) for old, new in pairs]
        if opts.json:
            print(
                json.dumps(
                    as_json(history, diffs, opts.diff is not None), ensure_ascii=False, indent=1
                )
            )
        else:
            sys.stdout.write(render(history, diffs))
        missing = [diff for diff in diffs if diff.missing]
        for diff in missing:
            print(
                f"newsspider: no diff from version {diff.old} to {diff.new} of {history.path}: "
                "the bytes of one of them are not kept",
                file=sys.stderr,
            )
        self.exitcode = FAILED if missing else OK

    def _fail(self, message: str) -> None:
        print(f"newsspider: {message}", file=sys.stderr)
        self.exitcode = USAGE


def _pairs(versions: tuple[Version, ...], refs: list[str]) -> list[tuple[Version, Version]]:
    if refs:
        return [(pick_version(versions, refs[0]), pick_version(versions, refs[1]))]
    return list(itertools.pairwise(versions))


def _label(path: str, version: Version) -> str:
    return f"{path} @{version.number}\t{version.at or 'unknown time'} {version.why}"


def _diff(root: Path, path: str, old: Version, new: Version) -> Diff:
    old_bytes, new_bytes = version_bytes(root, old), version_bytes(root, new)
    if old_bytes is None or new_bytes is None:
        return Diff(old.number, new.number, missing=True)
    text = text_diff(old_bytes, new_bytes, _label(path, old), _label(path, new))
    if text is None:
        return Diff(old.number, new.number, binary=old_bytes != new_bytes)
    return Diff(old.number, new.number, text=text)


def as_json(history: ArticleHistory, diffs: list[Diff], with_diffs: bool) -> dict[str, Any]:
    """The history as JSON: the article, every version in full, and the diffs asked for."""
    result: dict[str, Any] = {
        "url": history.url,
        "path": history.path,
        "versions": [dataclasses.asdict(version) for version in history.versions],
    }
    if with_diffs:
        result["diffs"] = [dataclasses.asdict(diff) for diff in diffs]
    return result


def _when(version: Version) -> str:
    if version.at is None:
        return "unknown"
    return version.at[:19] + "Z"  # to the second; the JSON has the microseconds


def render(history: ArticleHistory, diffs: list[Diff]) -> str:
    """The history as text: one line per version, oldest first (sha256 to 12 digits, as the
    history files are named), then the diffs."""
    lines = [f"article: {history.url or '(not indexed)'}", f"post: {history.path}"]
    if not history.versions:
        lines.append("no version on disk (the post is missing and no earlier one is kept)")
    rows = [("#", "when (UTC)", "why", "sha256", "size", "")]
    for version in history.versions:
        notes = []
        if version.current:
            notes.append("current")
        if version.file is None:
            notes.append("bytes not kept")
        elif not version.recorded:
            notes.append("not recorded")
        rows.append(
            (
                str(version.number),
                _when(version),
                version.why,
                version.sha256[:12],
                str(version.size),
                ", ".join(notes),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for row in rows:
        cells = [
            row[0].rjust(widths[0]),
            *(c.ljust(w) for c, w in zip(row[1:5], widths[1:], strict=True)),
        ]
        if row[4] != "size":
            cells[4] = row[4].rjust(widths[4])
        lines.append("  ".join([*cells, row[5]]).rstrip())
    out = "\n".join(lines) + "\n"
    for diff in diffs:
        if diff.missing:
            out += f"versions {diff.old} and {diff.new}: no diff, the bytes are not kept\n"
        elif diff.binary:
            out += f"versions {diff.old} and {diff.new} differ (binary: not UTF-8 text)\n"
        elif not diff.text:
            out += f"versions {diff.old} and {diff.new} are identical\n"
        else:
            out += diff.text
    return out
