"""The archive index, the lock, the audit and the incremental decisions."""

import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from newsspider.archive import lock
from newsspider.archive.audit import audit, posts_on_disk
from newsspider.archive.index import GONE, LIVE, ArchiveIndex, remove_stale_temp_files
from newsspider.config import ConfigError
from newsspider.sina.roll import RollEntry
from newsspider.spiders.sina_finance import freshness
from newsspider.spiders.sina_refresh import RefreshSelection, entry_of

from utils.archive import index_row as row
from utils.crawl import REPO

TESTS = REPO / "tests"


def test_put_get_touch_and_counts(tmp_path):
    index = ArchiveIndex(tmp_path)
    index.put(row(1))
    index.put(row(2, channel="macro"))
    assert index.get(row(1).url) == row(1)
    assert index.by_path(row(2).path).url == row(2).url
    index.put(row(1, sha256="1" * 64, first_archived="2030-01-01T00:00:00+00:00"))
    assert index.get(row(1).url).sha256 == "1" * 64
    assert index.get(row(1).url).first_archived == "2024-01-01T00:00:00+00:00"  # kept
    index.touch(row(2).url, status=GONE, etag='"abc"')
    assert index.get(row(2).url).status == GONE
    assert index.get(row(2).url).etag == '"abc"'
    with pytest.raises(ValueError, match="unknown index columns"):
        index.touch(row(2).url, colour="red")
    assert index.count() == 2
    assert index.counts_by_channel() == {"china": {LIVE: 1}, "macro": {GONE: 1}}
    index.close()
    reopened = ArchiveIndex(tmp_path)
    assert reopened.count() == 2
    assert [r.url for r in reopened.rows("channel = ?", ("macro",))] == [row(2).url]
    reopened.close()


A = "https://n.sinaimg.cn/a.jpg"
B = "https://n.sinaimg.cn/b.png"


def test_the_index_records_the_pictures_of_each_post(tmp_path):
    index = ArchiveIndex(tmp_path)
    index.put(row(1, images=(A, B)))
    index.put(row(2, images=(A,)))
    index.put(row(3, images=()))
    index.put(row(4))  # archived before pictures were recorded
    index.put(row(5, images=(B,), status=GONE))  # a gone post's pictures are not the archive's
    assert index.get(row(1).url).images == (A, B)
    assert index.get(row(3).url).images == ()
    assert index.get(row(4).url).images is None
    index.put(row(1, sha256="1" * 64))  # a row put without pictures keeps those known
    assert index.get(row(1).url).images == (A, B)
    index.put(row(2, images=(B,)))  # a rewritten post shows what it shows now
    assert index.pictures() == {A: 1, B: 2}
    index.put(row(3, images=(A,), remote_images=(A,)))  # shown from Sina, to be stored
    assert index.get(row(3).url).remote_images == (A,)
    index.put(row(3, images=(A,), remote_images=()))
    assert index.get(row(3).url).remote_images == ()
    index.put(row(3, images=()))
    assert [r.url for r in index.unrecorded_pictures()] == [row(4).url]
    index.close()
    reader = ArchiveIndex.read_only(tmp_path)
    assert reader.get(row(2).url).images == (B,)
    reader.close()
    # A row recovered from the journal keeps its pictures.
    writer = ArchiveIndex(tmp_path, batch_size=1000, batch_seconds=1000)
    writer.journal(row(6, images=(A,)))
    again = ArchiveIndex(tmp_path)
    assert again.recover(lambda path: row(6).sha256) == 1
    assert again.get(row(6).url).images == (A,)
    again.close()
    writer.close()


def test_an_index_of_an_earlier_version_gains_the_pictures_column(tmp_path):
    import sqlite3

    state = tmp_path / ".newsspider"
    state.mkdir()
    db = sqlite3.connect(state / "index.sqlite3")
    columns = ", ".join(f"{name} TEXT" for name in row(1).to_record() if name != "images")
    db.execute(f"CREATE TABLE articles ({columns}, PRIMARY KEY (url))")
    old = row(1).to_record()
    del old["images"]
    db.execute(f"INSERT INTO articles VALUES ({', '.join('?' * len(old))})", list(old.values()))
    db.commit()
    db.close()
    reader = ArchiveIndex.read_only(tmp_path)  # reads it as it is, changing nothing
    assert reader.get(row(1).url).images is None
    assert reader.pictures() == {}
    assert [r.url for r in reader.unrecorded_pictures()] == [row(1).url]
    reader.close()
    index = ArchiveIndex(tmp_path)
    assert [r.url for r in index.unrecorded_pictures()] == [row(1).url]
    index.put(row(1, images=(A,)))
    assert index.pictures() == {A: 1}
    index.close()


def test_opening_the_archive_records_the_pictures_of_posts_indexed_without_them(tmp_path):
    from newsspider.archive.store import ArchiveStore

    index = ArchiveIndex(tmp_path)
    for n in (1, 2, 3):
        index.put(row(n))
    index.close()
    post = tmp_path / row(1).path
    post.parent.mkdir(parents=True)
    post.write_text(
        f"---\ntitle: t\nheadimg: '{A}'\n---\n<p><img src=\"{B}\"></p>\n", encoding="utf-8"
    )
    (tmp_path / row(2).path).write_text(f'---\ntitle: [\n---\n<img src="{A}">', "utf-8")
    store = ArchiveStore.open(tmp_path)
    assert store.opened.pictures_recorded == 2  # post 3 is not on disk: left unknown
    assert store.index.get(row(1).url).images == (A, B)
    assert store.index.get(row(2).url).images == (A,)  # broken front matter: all is body
    assert store.index.get(row(3).url).images is None
    store.close()
    again = ArchiveStore.open(tmp_path)
    assert again.opened.pictures_recorded == 0
    again.close()


def test_get_many_finds_rows_in_chunks(tmp_path):
    index = ArchiveIndex(tmp_path)
    for n in range(0, 1200, 2):  # every other URL is known
        index.put(row(n))
    wanted = [row(n).url for n in range(1200)] + [row(0).url]  # more than one IN chunk
    found = index.get_many(wanted)
    assert sorted(found) == sorted(row(n).url for n in range(0, 1200, 2))
    assert found[row(4).url] == index.get(row(4).url)
    assert index.get_many([]) == {}
    index.close()


def test_uncommitted_rows_are_lost_but_the_journal_recovers_them(tmp_path):
    script = f"""
import os
from newsspider.archive.index import ArchiveIndex
from utils.archive import index_row
index = ArchiveIndex({str(tmp_path)!r}, batch_size=1000, batch_seconds=1000)
for n in (1, 2):
    r = index_row(n, sha256=__import__('hashlib').sha256(b'post %d' % n).hexdigest())
    index.journal(r)
    path = index.root / r.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'post %d' % n if n == 1 else b'half')
    index.put(r)
os._exit(9)  # killed before the batch commits
"""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        check=False,
        env={"PYTHONPATH": f"{TESTS}:{REPO}"},
    )
    assert proc.returncode == 9
    index = ArchiveIndex(tmp_path)
    assert index.count() == 0
    import hashlib

    def digest(path):
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None

    assert index.recover(digest) == 1  # post 2 was not written as journaled
    assert index.get(row(1).url) is not None
    assert index.get(row(2).url) is None
    assert index.recover(digest) == 0
    index.close()


def test_stale_temp_files_are_removed(tmp_path):
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    (folder / ".newsspider-x1.tmp").write_text("half")
    (folder / "post.md").write_text("keep")
    assert remove_stale_temp_files(tmp_path, ".newsspider-", ".tmp") == 1
    assert [p.name for p in folder.iterdir()] == ["post.md"]


def test_lock_is_exclusive_across_processes_and_can_wait(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from newsspider.archive import lock; import pathlib, time; "
            f"held = lock.ArchiveLock(pathlib.Path({str(tmp_path)!r})); held.acquire(); "
            "print('held', flush=True); time.sleep(1.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    mine = lock.ArchiveLock(tmp_path)
    with pytest.raises(lock.ArchiveLockedError, match="in use by newsspider pid"):
        mine.acquire()
    assert not mine.held
    started = time.monotonic()
    mine.acquire(wait=30)  # the holder exits after 1.5 s: its lock goes with it
    assert time.monotonic() - started < 30
    mine.acquire()  # again: a no-op for the object that holds it
    # Another object, even in this process, is turned away: the lock has one owner.
    with pytest.raises(lock.ArchiveLockedError):
        lock.ArchiveLock(tmp_path).acquire()
    mine.release()
    assert not mine.held
    again = lock.ArchiveLock(tmp_path)
    again.acquire()  # free again
    again.release()
    holder.wait(timeout=10)
    holder.stdout.close()


def test_audit(tmp_path):
    index = ArchiveIndex(tmp_path)
    index.put(row(1))
    index.put(row(2))
    (tmp_path / row(1).path).parent.mkdir(parents=True)
    (tmp_path / row(1).path).write_text("x")
    (tmp_path / "金融/新浪财经/新浪财经－国內/stray.md").write_text("x")
    (tmp_path / ".newsspider/history/x.md").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / ".newsspider/history/x.md").write_text("x")
    assert posts_on_disk(tmp_path) == sorted([row(1).path, "金融/新浪财经/新浪财经－国內/stray.md"])
    report = audit(tmp_path, index)
    assert report.unindexed_posts == ["金融/新浪财经/新浪财经－国內/stray.md"]
    assert report.missing_files == [row(2).path]
    assert not report.consistent
    index.close()


def entry(mtime):
    moment = datetime.fromtimestamp(mtime, UTC) if mtime is not None else None
    return RollEntry(row(1).url, "t", None, None, moment, None)


def test_freshness():
    known = row(1, mtime=1000)
    assert freshness(entry(1000), None) == "new"
    assert freshness(entry(1000), known) == "known"
    assert freshness(entry(999), known) == "known"
    assert freshness(entry(None), known) == "known"
    assert freshness(entry(1001), known) == "changed"
    assert freshness(entry(1000), row(1, mtime=1000, status=GONE)) == "changed"


def test_refresh_selection():
    now = datetime(2024, 6, 1, tzinfo=UTC)
    where, params = RefreshSelection.parse(all="1").where(now)
    assert (where, params) == ("", ())
    where, params = RefreshSelection.parse(
        since="2024-01-01", older_than="30", channel="macro"
    ).where(now)
    assert where == "intime >= ? AND last_checked < ? AND channel = ?"
    assert params[0] == int(datetime(2023, 12, 31, 16, tzinfo=UTC).timestamp())
    assert params[1] == "2024-05-02T00:00:00+00:00"
    assert params[2] == "macro"
    for bad, message in [
        ({}, "say what to refresh"),
        ({"older_than": "x"}, "number of days"),
        ({"channel": "nope"}, "unknown channel"),
        ({"colour": 1}, "unknown argument"),
    ]:
        with pytest.raises(ConfigError, match=message):
            RefreshSelection.parse(**bad)


def test_entry_of_keeps_title_and_listing_time():
    rebuilt = entry_of(row(5))
    assert rebuilt.title == "标题5"
    assert rebuilt.intime == datetime.fromtimestamp(1_700_000_005, UTC)
