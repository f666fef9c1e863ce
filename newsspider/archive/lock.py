"""One run at a time per archive: an exclusive ``flock`` on ``ARCHIVE_DIR/.newsspider/lock``.

The lock belongs to the :class:`ArchiveLock` that took it (in a crawl, the archive store its
one owner opens) and is released with it, or when the process exits, however it exits: a
killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

from newsspider.archive.index import STATE_DIR

LOCK_NAME = "lock"


class ArchiveLockedError(RuntimeError):
    """Another process holds the archive lock."""


def lock_path(root: Path) -> Path:
    """Where the lock file of the archive at ``root`` is."""
    return root / STATE_DIR / LOCK_NAME


class ArchiveLock:
    """The lock of the archive at ``root``: :meth:`acquire` takes it, :meth:`release` gives it
    back. A second lock object for the same archive, even in the same process, is turned away
    while the first holds it (flock locks belong to the open file)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds; the holder's pid and start time go
        into the lock file. Raises :class:`ArchiveLockedError` naming the holder when it stays
        taken. Taking a lock this object holds already does nothing."""
        if self._handle is not None:
            return
        path = lock_path(self.root)
        path.parent.mkdir(parents=True, exist_ok=True)
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
                        f"the archive {self.root} is in use by {holder}; "
                        "this run stops (set ARCHIVE_LOCK_WAIT to wait for it)"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"newsspider pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Give the lock back (nothing happens when it is not held)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
