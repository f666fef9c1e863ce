"""Compare the archive index with the posts on disk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from newsspider.archive.index import ArchiveIndex, IndexRow
from newsspider.archive.naming import POST_SUFFIX


@dataclass
class AuditReport:
    """What the index and the files disagree on: posts on disk the index does not know, index
    rows whose post is missing, posts that several rows claim (path: their URLs), posts whose
    bytes do not hash to their row's sha256; and the indexed articles by channel and status."""

    posts_on_disk: int
    indexed: int
    unindexed_posts: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    duplicate_rows: dict[str, list[str]] = field(default_factory=dict)
    hash_mismatches: list[str] = field(default_factory=list)
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)
    by_origin: dict[str, int] = field(default_factory=dict)
    """Indexed articles by where their post came from: ``crawl``, ``import``, ``adoption``."""

    @property
    def consistent(self) -> bool:
        return not (
            self.unindexed_posts
            or self.missing_files
            or self.duplicate_rows
            or self.hash_mismatches
        )


@dataclass(frozen=True)
class IndexSnapshot:
    """The rows of an index and its counts, read at one moment."""

    rows: list[IndexRow]
    by_channel: dict[str, dict[str, int]]
    by_origin: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, index: ArchiveIndex) -> IndexSnapshot:
        return cls(
            rows=list(index.rows()),
            by_channel=index.counts_by_channel(),
            by_origin=index.counts_by_origin(),
        )


def posts_on_disk(root: Path) -> list[str]:
    """Every post under ``root`` (relative POSIX paths), leaving out dot folders and files as
    Hexo does."""
    found = []
    for path in root.rglob(f"*{POST_SUFFIX}"):
        relative = path.relative_to(root)
        if not any(part.startswith(".") for part in relative.parts) and path.is_file():
            found.append(relative.as_posix())
    return sorted(found)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def compare(root: Path, snapshot: IndexSnapshot) -> AuditReport:
    """The differences between the index ``snapshot`` and the posts under ``root``; every post
    a row names is read and hashed."""
    on_disk = set(posts_on_disk(root))
    by_path: dict[str, list[IndexRow]] = {}
    for row in snapshot.rows:
        by_path.setdefault(row.path, []).append(row)
    mismatches = []
    for path in sorted(on_disk.intersection(by_path)):
        digest = _sha256(root / path)
        if digest is not None and any(row.sha256 != digest for row in by_path[path]):
            mismatches.append(path)
    return AuditReport(
        posts_on_disk=len(on_disk),
        indexed=len(snapshot.rows),
        unindexed_posts=sorted(on_disk - by_path.keys()),
        missing_files=sorted(by_path.keys() - on_disk),
        duplicate_rows={
            path: sorted(row.url for row in rows)
            for path, rows in sorted(by_path.items())
            if len(rows) > 1
        },
        hash_mismatches=mismatches,
        by_channel=snapshot.by_channel,
        by_origin=snapshot.by_origin,
    )


def audit(root: Path, index: ArchiveIndex) -> AuditReport:
    """The differences between ``index`` and the posts under ``root``."""
    return compare(root, IndexSnapshot.read(index))
