"""One run at a time per archive: an exclusive ``flock`` on ``ARCHIVE_DIR/.newsspider/lock``.

The lock is held by the process (every component of a crawl shares it) and released when the
process exits, however it exits: a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

from newsspider.archive.index import STATE_DIR

LOCK_NAME = "lock"

_held: dict[Path, IO[str]] = {}


class ArchiveLockedError(RuntimeError):
    """Another process holds the archive lock."""


def lock_path(root: Path) -> Path:
    """Where the lock file of the archive at ``root`` is."""
    return root / STATE_DIR / LOCK_NAME


def acquire(root: Path, wait: float = 0.0) -> None:
    """Take the archive lock for this process (again: a no-op), waiting up to ``wait`` seconds.

    Raises ``ArchiveLockedError`` naming the holder when it stays taken.
    """
    lock_path(root).parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(root).resolve()
    if path in _held:
        return
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise ArchiveLockedError(
                    f"the archive {root} is in use by {holder}; "
                    "this run stops (set ARCHIVE_LOCK_WAIT to wait for it)"
                ) from None
            time.sleep(0.2)
    handle.seek(0)
    handle.truncate()
    handle.write(f"newsspider pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
    handle.flush()
    _held[path] = handle


def release(root: Path) -> None:
    """Give the lock back (no-op when this process does not hold it)."""
    try:
        handle = _held.pop(lock_path(root).resolve(), None)
    except OSError:
        return
    if handle is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
