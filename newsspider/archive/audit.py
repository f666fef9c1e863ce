"""Compare the archive index with the posts on disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from newsspider.archive.index import ArchiveIndex
from newsspider.archive.naming import POST_SUFFIX


@dataclass
class AuditReport:
    """Posts on disk the index does not know, index rows whose post is missing, and the
    indexed articles by channel and status."""

    posts_on_disk: int
    indexed: int
    unindexed_posts: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return not self.unindexed_posts and not self.missing_files


def posts_on_disk(root: Path) -> list[str]:
    """Every post under ``root`` (relative POSIX paths), leaving out dot folders and files as
    Hexo does."""
    found = []
    for path in root.rglob(f"*{POST_SUFFIX}"):
        relative = path.relative_to(root)
        if not any(part.startswith(".") for part in relative.parts) and path.is_file():
            found.append(relative.as_posix())
    return sorted(found)


def audit(root: Path, index: ArchiveIndex) -> AuditReport:
    """The differences between ``index`` and the posts under ``root``."""
    on_disk = posts_on_disk(root)
    indexed_paths = {row.path for row in index.rows()}
    disk_set = set(on_disk)
    return AuditReport(
        posts_on_disk=len(on_disk),
        indexed=index.count(),
        unindexed_posts=sorted(disk_set - indexed_paths),
        missing_files=sorted(indexed_paths - disk_set),
        by_channel=index.counts_by_channel(),
    )
