"""Atomic file writes: a reader or a crash never sees half a post."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".newsspider-"
TEMP_SUFFIX = ".tmp"


def write_atomic(path: Path, data: bytes, *, fsync: bool = True, folder_sync: bool = True) -> bool:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename.

    Returns False, touching nothing, when ``path`` already holds exactly ``data``. Temp files
    start with ``.`` so Hexo never loads one. With ``fsync`` the data reaches the disk before
    the rename, and the folder (the rename itself) after it unless ``folder_sync`` is False: a
    caller that writes many posts syncs their folders once per batch with :func:`sync_folder`.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if fsync and folder_sync:
        sync_folder(path.parent)
    return True


def sync_folder(folder: Path) -> None:
    """fsync ``folder``: the renames into it are then durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
