"""Earlier versions of posts: ``ARCHIVE_DIR/.newsspider/history/<post path without .md>/``.

Before a post is overwritten its previous bytes are kept here as ``<UTC time>-<sha256[:12]>.md``,
so no rewrite loses text. Hexo ignores the dot folder.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from newsspider.archive.files import write_atomic
from newsspider.archive.index import STATE_DIR
from newsspider.archive.naming import POST_SUFFIX

HISTORY_DIR = "history"


def history_folder(root: Path, relative: str) -> Path:
    """Where the earlier versions of the post at ``relative`` are kept."""
    return root / STATE_DIR / HISTORY_DIR / relative.removesuffix(POST_SUFFIX)


def keep_version(root: Path, relative: str, data: bytes, *, fsync: bool = True) -> Path:
    """Keep ``data`` as an earlier version of the post at ``relative``; returns its file."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    digest = hashlib.sha256(data).hexdigest()[:12]
    target = history_folder(root, relative) / f"{stamp}-{digest}{POST_SUFFIX}"
    write_atomic(target, data, fsync=fsync)
    return target


def find_version(root: Path, relative: str, sha256: str) -> bytes | None:
    """The kept version of the post at ``relative`` whose SHA-256 is ``sha256``, or None."""
    folder = history_folder(root, relative)
    try:
        candidates = sorted(folder.glob(f"*-{sha256[:12]}{POST_SUFFIX}"), reverse=True)
    except OSError:
        return None
    for candidate in candidates:
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    return None
