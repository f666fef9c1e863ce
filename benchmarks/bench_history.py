"""What the readable history costs: recording versions on the write path, and listing one post's
versions.

    python benchmarks/bench_history.py                  # 5,000 writes, a post with 1,000 versions
    python benchmarks/bench_history.py --writes 20000 --versions 5000 --repeat 5

Prints one line per figure, the best of ``--repeat`` runs (3). It only measures; no test runs
it. Writes go through ``ArchiveStore.written`` as the archive writer calls it, with
``ARCHIVE_FSYNC`` off so that the figure is the index's work, not the disk's: each write with
its versions (journal line, version records, row) against the same writes with no version.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from newsspider.archive.history import (  # noqa: E402
    Kept,
    WriteReason,
    keep_version,
    post_versions,
    versions_written,
)
from newsspider.archive.index import ArchiveIndex  # noqa: E402
from newsspider.archive.store import ArchiveStore  # noqa: E402

from utils.archive import index_row  # noqa: E402


def _writes(root: Path, count: int, *, record: bool) -> float:
    """Seconds for ``count`` index writes (each a new version of one of 1,000 posts)."""
    store = ArchiveStore.open(root, fsync=False)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    start = time.perf_counter()
    for n in range(count):
        row = index_row(n % 1000, sha256=hashlib.sha256(b"%d" % n).hexdigest())
        versions = ()
        if record:
            kept = (
                Kept(f".newsspider/history/p{n % 1000}/{n}.md", "0" * 64, 5000)
                if n >= 1000
                else None
            )
            versions = versions_written(
                row.path,
                at=at + timedelta(seconds=n),
                why=WriteReason.REFRESH,
                sha256=row.sha256,
                size=5000,
                kept=kept,
            )
        store.written(row, versions)
    store.close()
    return time.perf_counter() - start


def _listing(root: Path, count: int) -> tuple[float, int]:
    """Seconds to list a post with ``count`` recorded versions, and how many it listed."""
    store = ArchiveStore.open(root, fsync=False)
    row = index_row(1)
    post = root / row.path
    post.parent.mkdir(parents=True, exist_ok=True)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    previous = None
    for n in range(count):
        data = b"version %d\n" % n * 500
        moment = at + timedelta(seconds=n)
        kept = None
        if previous is not None:
            file = keep_version(root, row.path, previous, fsync=False, at=moment)
            digest = hashlib.sha256(previous).hexdigest()
            kept = Kept(file.relative_to(root).as_posix(), digest, len(previous))
        post.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        versions = versions_written(
            row.path, at=moment, why=WriteReason.REFRESH, sha256=digest, size=len(data), kept=kept
        )
        store.written(dataclasses.replace(row, sha256=digest), versions)
        previous = data
    store.close()
    index = ArchiveIndex.read_only(root)
    start = time.perf_counter()
    listed = post_versions(
        root, index, row.path, current_sha256=hashlib.sha256(previous or b"").hexdigest()
    )
    seconds = time.perf_counter() - start
    index.close()
    return seconds, len(listed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args()
    plain = recorded = seconds = float("inf")
    listed = 0
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            plain = min(plain, _writes(base / "plain", args.writes, record=False))
            recorded = min(recorded, _writes(base / "recorded", args.writes, record=True))
            took, listed = _listing(base / "listing", args.versions)
            seconds = min(seconds, took)
        print(f"# run {run + 1} of {args.repeat} done", file=sys.stderr)
    per_plain = plain / args.writes * 1e6
    per_recorded = recorded / args.writes * 1e6
    print(f"index writes without versions: {per_plain:.1f} µs/write ({args.writes} writes)")
    print(
        f"index writes with versions:    {per_recorded:.1f} µs/write "
        f"(+{per_recorded - per_plain:.1f} µs: journal line, version records)"
    )
    print(
        f"listing a post of {listed} versions: {seconds * 1e3:.1f} ms "
        f"({seconds / max(listed, 1) * 1e6:.1f} µs/version, no version read)"
    )


if __name__ == "__main__":
    main()
