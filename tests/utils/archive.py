"""Reading an archive the way Hexo sees it, and index rows to fill one with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from newsspider.archive.index import LIVE, IndexRow

CHINA_DIR = Path("金融") / "新浪财经" / "新浪财经－国內"


def posts_under(archive: Path) -> dict[str, bytes]:
    """Every post in the archive, by path relative to it (dot folders left out, as Hexo does)."""
    return {
        p.relative_to(archive).as_posix(): p.read_bytes()
        for p in sorted(archive.rglob("*.md"))
        if not any(part.startswith(".") for part in p.relative_to(archive).parts)
    }


def index_row(n: int, **changes: Any) -> IndexRow:
    """Index row number ``n``: a china article archived and checked on 2024-01-01, listed at
    ``1_700_000_000 + n``; ``changes`` replace any column."""
    values: dict[str, Any] = dict(
        url=f"https://finance.sina.com.cn/china/doc-i{n:07d}.shtml",
        docid=f"comos:{n}",
        channel="china",
        path=f"{CHINA_DIR.as_posix()}/post{n}.md",
        sha256="0" * 64,
        title=f"标题{n}",
        intime=1_700_000_000 + n,
        mtime=1_700_000_000 + n,
        etag=None,
        last_modified=None,
        first_archived="2024-01-01T00:00:00+00:00",
        last_checked="2024-01-01T00:00:00+00:00",
        status=LIVE,
    )
    values.update(changes)
    return IndexRow(**values)
