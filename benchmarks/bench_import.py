"""Measure ``scrapy archive_import`` on a synthetic site repository: commits per second, post
versions per second, wall time and peak memory of the import process.

    python benchmarks/bench_import.py                       # 5,000 commits, 20,000 post versions
    python benchmarks/bench_import.py --commits 1000,5000   # memory against the number of commits
    python benchmarks/bench_import.py --workdir /tmp/bench  # keep the repositories and archives

The repository is built as the older pipeline's sites grew: each commit is one run that holds
the latest ``--window`` posts of the Sina feed (and one post of another feed, its random head
image new on every run); each run adds ``--new`` articles, rewrites the date line of
``--rewritten`` posts it still holds (a new blob of the same version) and changes the body of
``--edited`` others (a new version). Objects go into packs, as
in a cloned repository. Only measures: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

from dulwich.objects import Blob, Commit, ShaFile, Tree
from dulwich.repo import Repo

REPO_ROOT = Path(__file__).resolve().parents[1]
GOLDEN = REPO_ROOT / "tests" / "data" / "sina" / "golden"
SEED = "source/_posts/金融/新浪财经/新浪财经－国內"
T0 = 1_640_000_000


def _bodies() -> list[str]:
    bodies = []
    for folder in sorted(GOLDEN.iterdir()):
        text = (folder / "expected.md").read_text(encoding="utf-8")
        bodies.append(text.split("\n---\n", 2)[2])
    return bodies


def _post(n: int, stamp: int, bodies: list[str], edit: int = 0) -> bytes:
    lead = f"<p>第{n}号文章</p>" + (f"<p>第{edit}次更正</p>" if edit else "")
    body = bodies[n % len(bodies)].replace("<div>   \n", f"<div>   \n{lead}\n", 1)
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(T0 + n * 600 + stamp))
    return (
        f"\n---\ntitle: '合成文章第{n}号'\ncategories: \n - 金融\n - 新浪财经\n - 新浪财经－国內\n"
        "headimg: ''\nauthor: 新浪财经\ncomments: false\n"
        f"date: {date}\nthumbnail: ''\n---\n{body}"
    ).encode()


def build(path: Path, commits: int, window: int, new: int, rewritten: int, edited: int) -> int:
    """Build the repository; returns how many Sina post blobs it holds."""
    repo = Repo.init(str(path), mkdir=True)
    bodies = _bodies()
    live: deque[tuple[int, bytes]] = deque()
    pending: list[ShaFile] = []
    parent: bytes | None = None
    blobs = 0
    next_article = 0
    for c in range(commits):
        for _ in range(new):
            blob = Blob.from_string(_post(next_article, 0, bodies))
            live.append((next_article, blob.id))
            pending.append(blob)
            blobs += 1
            next_article += 1
        while len(live) > window:
            live.popleft()
        for i in range(min(rewritten + edited, len(live) - new)):
            n, _old = live[i]
            edit = c if i >= rewritten else 0  # a real change: another version of the article
            blob = Blob.from_string(_post(n, 60 + c % 7, bodies, edit))
            live[i] = (n, blob.id)
            pending.append(blob)
            blobs += 1
        feed = Tree()
        for n, blob_id in live:
            feed.add(f"合成文章第{n}号.md".encode(), 0o100644, blob_id)
        other = Blob.from_string(f"\n---\ntitle: 'x'\nheadimg: 'random={c}'\n---\n".encode())
        other_tree = Tree()
        other_tree.add(b"x.md", 0o100644, other.id)
        pending += [feed, other, other_tree]
        chain = feed.id
        parts = SEED.split("/")
        for depth in range(len(parts) - 1, 0, -1):
            tree = Tree()
            tree.add(parts[depth].encode(), 0o040000, chain)
            if depth == 2:  # source/_posts: the other feed beside 金融
                tree.add("二次元".encode(), 0o040000, other_tree.id)
            pending.append(tree)
            chain = tree.id
        root = Tree()
        root.add(parts[0].encode(), 0o040000, chain)
        pending.append(root)
        commit = Commit()
        commit.tree = root.id
        commit.author = commit.committer = b"bot <bot@example.com>"
        commit.author_time = commit.commit_time = T0 + c * 900
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = f"run {c}".encode()
        commit.parents = [parent] if parent is not None else []
        pending.append(commit)
        parent = commit.id
        if len(pending) >= 20_000:
            repo.object_store.add_objects([(o, None) for o in pending])
            pending = []
    repo.object_store.add_objects([(o, None) for o in pending])
    assert parent is not None
    repo.refs[b"refs/heads/main"] = parent
    return blobs


def run_import(repo: Path, archive: Path, settings: list[str]) -> tuple[float, int, str]:
    """``scrapy archive_import`` in its own process: wall seconds, peak RSS (KiB), stdout."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    argv = [sys.executable, "-m", "scrapy", "archive_import", str(repo)]
    argv += ["-s", f"ARCHIVE_DIR={archive}", "-s", "LOG_LEVEL=WARNING"]
    argv += [part for setting in settings for part in ("-s", setting)]
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed:\n{err[-3000:]}")
    return wall, usage.ru_maxrss, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", default="5000", help="comma-separated repository sizes")
    parser.add_argument("--window", type=int, default=20, help="posts each run holds")
    parser.add_argument("--new", type=int, default=2, help="new articles per run")
    parser.add_argument(
        "--rewritten", type=int, default=1, help="posts whose date line each run rewrites"
    )
    parser.add_argument("--edited", type=int, default=1, help="posts each run really changes")
    parser.add_argument("--workdir", type=Path, help="keep the repositories and archives here")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a setting (-s)"
    )
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"# {time.strftime('%Y-%m-%d')} {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, commit {commit}"
    )
    try:
        for count in (int(part) for part in args.commits.split(",")):
            repo = work / f"repo-{count}"
            archive = work / f"archive-{count}"
            shutil.rmtree(repo, ignore_errors=True)
            shutil.rmtree(archive, ignore_errors=True)
            started = time.monotonic()
            blobs = build(repo, count, args.window, args.new, args.rewritten, args.edited)
            built = time.monotonic() - started
            wall, peak, out = run_import(repo, archive, args.set)
            again, peak_again, _ = run_import(repo, archive, args.set)
            print(
                f"repository: {count:,} commits, {blobs:,} Sina post versions (built in "
                f"{built:.1f} s)"
            )
            print(f"  {out.splitlines()[0]}")
            print(f"  settings: {' '.join(args.set) or 'the defaults (ARCHIVE_FSYNC on)'}")
            print(
                f"  first import: {wall:.1f} s, {count / wall:,.0f} commits/s, "
                f"{blobs / wall:,.0f} post versions/s, peak RSS {peak / 1024:.0f} MiB"
            )
            print(
                f"  second import (changes nothing): {again:.1f} s, "
                f"peak RSS {peak_again / 1024:.0f} MiB"
            )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
