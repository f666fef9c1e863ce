"""``scrapy refresh`` and ``scrapy archive_index`` give cron answers it can trust: no success on
a missing archive, no differences reported from a run's half-written state, every kind of
disagreement between the index and the posts found."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsspider.archive import lock
from newsspider.archive.audit import AuditReport, IndexSnapshot
from newsspider.archive.index import ArchiveIndex, IndexRow
from newsspider.commands import archive_index as archive_index_command

from utils.archive import index_row
from utils.crawl import scrapy

FOLDER = "金融/新浪财经/新浪财经－国內"


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error:" in line]


@pytest.mark.e2e
@pytest.mark.parametrize("index_exists", [False, True])
def test_refresh_without_an_archive_stops_with_exit_2_and_creates_nothing(tmp_path, index_exists):
    archive = tmp_path / "archive"
    if index_exists:  # the folder is there, its index is not
        (archive / FOLDER).mkdir(parents=True)
    result = scrapy("refresh", "--all", "-s", f"ARCHIVE_DIR={archive}")
    assert result.returncode == 2, result.stderr[-2000:]
    [line] = errors(result.stderr)
    assert "nothing to refresh" in line
    assert "Traceback" not in result.stderr
    if index_exists:
        assert not (archive / ".newsspider").exists()
    else:
        assert not archive.exists()


def post(n: int) -> tuple[str, bytes]:
    return f"{FOLDER}/post{n}.md", f"\n---\ntitle: '标题{n}'\n---\n".encode()


def row(n: int, path: str, data: bytes) -> IndexRow:
    return index_row(n, path=path, sha256=hashlib.sha256(data).hexdigest())


def build(root: Path, rows: list[IndexRow], posts: dict[str, bytes]) -> None:
    for path, data in posts.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    index = ArchiveIndex(root)
    for entry in rows:
        index.put(entry)
    index.close()


@pytest.fixture
def consistent(tmp_path: Path) -> Path:
    posts = dict(post(n) for n in range(3))
    build(tmp_path, [row(n, *post(n)) for n in range(3)], posts)
    return tmp_path


def archive_index(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return scrapy("archive_index", *args, "-s", f"ARCHIVE_DIR={root}")


@pytest.mark.e2e
def test_archive_index_reports_shared_posts_and_changed_bytes(tmp_path):
    posts = dict(post(n) for n in range(3))
    path0, data0 = post(0)
    path1 = post(1)[0]
    rows = [
        row(0, path0, data0),
        row(9, path0, data0),  # a second article claims post0
        row(1, path1, b"what the crawl wrote"),  # post1 was edited since
        row(2, *post(2)),
    ]
    build(tmp_path, rows, posts)
    result = archive_index(tmp_path, "--json")
    assert result.returncode == 1, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["duplicate_rows"] == {path0: sorted([rows[0].url, rows[1].url])}
    assert report["hash_mismatches"] == [path1]
    assert report["unindexed_posts"] == report["missing_files"] == []
    assert report["indexed"] == 4
    text = archive_index(tmp_path)
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert "posts claimed by several index rows: 1" in lines
    assert f"  {path0}: {', '.join(sorted([rows[0].url, rows[1].url]))}" in lines
    assert "posts whose bytes differ from their index row (sha256): 1" in lines
    assert f"  {path1}" in lines
    assert "posts on disk not indexed: 0" in lines
    assert "index rows whose post is missing: 0" in lines


@pytest.mark.e2e
def test_archive_index_agrees_with_a_consistent_archive(consistent):
    result = archive_index(consistent, "--json")
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["hash_mismatches"] == []


@pytest.fixture
def held(consistent: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process (a crawl, say) holding the archive lock until it is killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from newsspider.archive import lock; import pathlib, time; "
            f"held = lock.ArchiveLock(pathlib.Path({str(consistent)!r})); held.acquire(); "
            "print('held', flush=True); time.sleep(300)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    yield holder
    holder.kill()
    holder.wait(timeout=10)
    holder.stdout.close()


@pytest.mark.e2e
def test_archive_index_during_a_run_says_so_and_exits_75(consistent, held):
    (consistent / post(0)[0]).unlink()  # what a crawl in progress might look like
    result = archive_index(consistent, "--json")
    assert result.returncode == 75, result.stdout
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert f"is in use by newsspider pid {held.pid}" in line
    held.kill()
    held.wait(timeout=10)
    assert archive_index(consistent).returncode == 1  # the missing post, now that it is free
    free = lock.ArchiveLock(consistent)
    free.acquire()  # and archive_index left the lock free
    free.release()


def test_the_lock_is_free_while_posts_are_hashed_and_a_run_then_voids_the_check(
    consistent, monkeypatch
):
    """A crawl starting while the posts are read is not turned away; the check then says it
    cannot tell rather than report the crawl's writes."""
    taken: list[subprocess.CompletedProcess[str]] = []

    def compare_while_a_crawl_starts(root: Path, snapshot: IndexSnapshot) -> AuditReport:
        taken.append(
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from newsspider.archive import lock; import pathlib; "
                    f"lock.ArchiveLock(pathlib.Path({str(root)!r})).acquire(); print('took it')",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        )
        return AuditReport(posts_on_disk=0, indexed=len(snapshot.rows))

    monkeypatch.setattr(archive_index_command, "compare", compare_while_a_crawl_starts)
    with pytest.raises(archive_index_command.ArchiveBusy, match="began writing the archive"):
        archive_index_command.check_archive(consistent)
    assert taken[0].stdout.strip() == "took it", taken[0].stderr


@pytest.mark.e2e
def test_archive_index_after_a_killed_run_leaves_its_journal_for_recovery(tmp_path):
    archive = tmp_path / "archive"
    path, data = post(1)
    (archive / FOLDER).mkdir(parents=True)
    (archive / path).write_bytes(data)
    ArchiveIndex(archive).close()
    # What a run killed after writing the post, before its batch committed, leaves behind.
    journal = archive / ".newsspider" / "index.journal"
    journal.write_text(json.dumps(dataclasses.asdict(row(1, path, data))) + "\n")
    result = scrapy("archive_index", "-s", f"ARCHIVE_DIR={archive}")
    assert result.returncode == 1  # the post is not indexed yet ...
    after = ArchiveIndex(archive)
    try:  # ... and the next run still recovers it
        assert after.recover(lambda p: hashlib.sha256(p.read_bytes()).hexdigest()) == 1
    finally:
        after.close()


@pytest.mark.e2e
def test_archive_index_creates_nothing_in_a_folder_of_posts(tmp_path):
    archive = tmp_path / "archive"
    path, data = post(1)
    (archive / FOLDER).mkdir(parents=True)
    (archive / path).write_bytes(data)
    result = scrapy("archive_index", "--json", "-s", f"ARCHIVE_DIR={archive}")
    assert result.returncode == 1
    assert json.loads(result.stdout)["unindexed_posts"] == [path]
    assert sorted(p.name for p in archive.iterdir()) == ["金融"]


@pytest.mark.parametrize(
    ("stats", "code"),
    [
        ({}, 1),  # stopped while starting: the spider never closed
        ({"finish_reason": "finished"}, 0),
        ({"finish_reason": "shutdown", "newsspider/interrupted": "SIGTERM"}, 143),
    ],
)
def test_a_crawl_whose_spider_never_closed_does_not_exit_0(stats, code):
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from newsspider.commands.crawl import Command

    command = Command()
    command._started = get_crawler(Spider, {"EXTENSIONS": {}})
    for key, value in stats.items():
        command._started.stats.set_value(key, value)
    assert command._run_exit_code() == code
