"""The readable history of posts: versions recorded with why they were written, listed without
reading their bytes, recovered with their row after a kill, and old archives' history files
listed too."""

import dataclasses
import hashlib
import json
import pathlib
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from newsspider.archive.history import (
    UNKNOWN,
    NoSuchVersion,
    WriteReason,
    article_history,
    history_folder,
    keep_version,
    pick_version,
    post_versions,
    text_diff,
    version_bytes,
)
from newsspider.archive.index import ArchiveIndex, VersionRow
from newsspider.archive.store import ArchiveStore, put_post

from utils.archive import index_row
from utils.crawl import REPO

TESTS = REPO / "tests"
ROW = index_row(1)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def write(store, data, why, row=ROW):
    """One write of ``row``'s post, as the archive writer does it."""
    put = put_post(store.root, row.path, data)
    if put.written:
        store.written(dataclasses.replace(row, sha256=put.sha256), put.versions(row.path, why))
    return put


def listed(root, relative=ROW.path, **kwargs):
    index = ArchiveIndex.read_only(root)
    try:
        return post_versions(root, index, relative, **kwargs)
    finally:
        index.close()


def test_each_write_is_recorded_with_why_and_listed_from_the_records(tmp_path, monkeypatch):
    store = ArchiveStore.open(tmp_path)
    writes = [
        write(store, b"one\n", WriteReason.CRAWL),
        write(store, b"one\n", WriteReason.REFRESH),  # unchanged: no version
        write(store, b"two, longer\n", WriteReason.REFRESH),
        write(store, b"three\n", WriteReason.REBUILD),
    ]
    store.close()
    # Listing reads names and records only, never a version's bytes.
    monkeypatch.setattr(pathlib.Path, "read_bytes", lambda self: pytest.fail(f"read {self}"))
    versions = listed(tmp_path, current_sha256=sha(b"three\n"))
    monkeypatch.undo()
    assert [(v.number, v.why, v.sha256, v.size, v.current) for v in versions] == [
        (1, "crawl", sha(b"one\n"), 4, False),
        (2, "refresh", sha(b"two, longer\n"), 12, False),
        (3, "rebuild", sha(b"three\n"), 6, True),
    ]
    assert [v.at for v in versions] == [
        writes[0].at.isoformat(timespec="microseconds"),
        writes[2].at.isoformat(timespec="microseconds"),
        writes[3].at.isoformat(timespec="microseconds"),
    ]
    assert all(v.recorded for v in versions)
    assert versions[2].file == ROW.path
    assert [version_bytes(tmp_path, v) for v in versions] == [
        b"one\n",
        b"two, longer\n",
        b"three\n",
    ]
    # The history file of each version was named when it was replaced: when the next came.
    kept = sorted(history_folder(tmp_path, ROW.path).iterdir())
    assert [v.file for v in versions[:2]] == [p.relative_to(tmp_path).as_posix() for p in kept]
    assert kept[0].name.startswith(writes[2].at.strftime("%Y%m%dT%H%M%S.%fZ"))


def test_the_same_bytes_again_later_are_a_version_of_their_own(tmp_path):
    store = ArchiveStore.open(tmp_path)
    for data in (b"A", b"B", b"A"):
        write(store, data, WriteReason.REFRESH)
    store.close()
    versions = listed(tmp_path, current_sha256=sha(b"A"))
    assert [(v.sha256, v.current) for v in versions] == [
        (sha(b"A"), False),
        (sha(b"B"), False),
        (sha(b"A"), True),
    ]
    assert [version_bytes(tmp_path, v) for v in versions] == [b"A", b"B", b"A"]
    assert pick_version(tuple(versions), sha(b"A")[:6]).number == 3  # the newest of those bytes


def test_recording_is_idempotent_so_a_replayed_journal_changes_nothing(tmp_path):
    index = ArchiveIndex(tmp_path)
    path = ROW.path
    first = VersionRow(path, "2024-01-01T00:00:00.000000+00:00", "crawl", sha(b"A"), 1)
    kept = VersionRow(path, None, None, sha(b"A"), 1, ".newsspider/history/x/1-a.md")
    second = VersionRow(path, "2024-01-02T00:00:00.000000+00:00", "refresh", sha(b"B"), 1)
    assert index.put_version(first)
    assert not index.put_version(first)
    assert index.put_version(kept) and index.put_version(second)
    for record in (first, kept, second):  # the journal replayed after its batch committed
        assert not index.put_version(record)
    assert index.versions(path) == [dataclasses.replace(first, kept=kept.kept), second]
    index.close()


def old_archive(root):
    """An archive an earlier release wrote: an index without the versions table, a post and
    two history files (kept at known times), no record of any version."""
    state = root / ".newsspider"
    state.mkdir(parents=True)
    db = sqlite3.connect(state / "index.sqlite3")
    columns = ", ".join(f"{name} TEXT" for name in ROW.to_record() if name != "images")
    db.execute(f"CREATE TABLE articles ({columns}, PRIMARY KEY (url))")
    old = {**ROW.to_record(), "sha256": sha(b"v3\n")}
    del old["images"]
    db.execute(f"INSERT INTO articles VALUES ({', '.join('?' * len(old))})", list(old.values()))
    db.commit()
    db.close()
    post = root / ROW.path
    post.parent.mkdir(parents=True)
    post.write_bytes(b"v3\n")
    keep_version(root, ROW.path, b"v1\n", at=datetime(2024, 1, 2, tzinfo=UTC))
    keep_version(root, ROW.path, b"v2 longer\n", at=datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC))


def test_an_old_archive_lists_its_history_files_as_versions_of_unknown_reason(tmp_path):
    old_archive(tmp_path)
    index = ArchiveIndex.read_only(tmp_path)
    history = article_history(tmp_path, index, ROW.url)
    index.close()
    assert history is not None and history.path == ROW.path
    assert [(v.why, v.at, v.sha256, v.size, v.recorded) for v in history.versions] == [
        (UNKNOWN, None, sha(b"v1\n"), 3, False),  # written before anything says
        (UNKNOWN, "2024-01-02T00:00:00.000000+00:00", sha(b"v2 longer\n"), 10, False),
        (UNKNOWN, "2024-03-04T05:06:07.000000+00:00", sha(b"v3\n"), 3, False),
    ]
    assert history.versions[-1].current
    assert not (tmp_path / ".newsspider" / "index.journal").exists()  # read only


def test_a_write_on_an_old_archive_records_the_post_it_replaces(tmp_path):
    old_archive(tmp_path)
    store = ArchiveStore.open(tmp_path)  # gains the versions table
    put = write(store, b"v4\n", WriteReason.REFRESH)
    store.close()
    versions = listed(tmp_path, current_sha256=put.sha256)
    assert [(v.why, v.sha256, v.recorded, v.current) for v in versions] == [
        (UNKNOWN, sha(b"v1\n"), False, False),
        (UNKNOWN, sha(b"v2 longer\n"), False, False),
        (UNKNOWN, sha(b"v3\n"), True, False),  # recorded as it was replaced; why unknown
        ("refresh", sha(b"v4\n"), True, True),
    ]
    assert versions[2].at == "2024-03-04T05:06:07.000000+00:00"
    assert versions[3].at == put.at.isoformat(timespec="microseconds")
    assert [version_bytes(tmp_path, v) for v in versions] == [
        b"v1\n",
        b"v2 longer\n",
        b"v3\n",
        b"v4\n",
    ]


def test_a_post_changed_by_hand_is_listed_as_it_is_and_its_record_as_lost(tmp_path):
    store = ArchiveStore.open(tmp_path)
    write(store, b"ours", WriteReason.CRAWL)
    store.close()
    (tmp_path / ROW.path).write_bytes(b"edited")
    versions = listed(tmp_path, current_sha256=sha(b"edited"))
    assert [(v.sha256, v.why, v.file, v.current) for v in versions] == [
        (sha(b"ours"), "crawl", None, False),  # its bytes were not kept
        (sha(b"edited"), UNKNOWN, ROW.path, True),
    ]


def test_temp_files_and_strangers_in_the_history_folder_are_not_versions(tmp_path):
    store = ArchiveStore.open(tmp_path)
    write(store, b"A", WriteReason.CRAWL)
    write(store, b"B", WriteReason.CRAWL)
    store.close()
    folder = history_folder(tmp_path, ROW.path)
    (folder / ".newsspider-half.tmp").write_bytes(b"half")
    (folder / "notes.md").write_bytes(b"mine")
    assert len(listed(tmp_path)) == 2


def test_a_write_stopped_after_keeping_the_post_adds_no_version(tmp_path):
    store = ArchiveStore.open(tmp_path)
    first = write(store, b"A", WriteReason.CRAWL)
    # A write that kept the post in history and was killed before it wrote the new one ...
    keep_version(tmp_path, ROW.path, b"A", at=datetime.now(UTC))
    write(store, b"B", WriteReason.REFRESH)  # ... and the next write, which kept it again
    store.close()
    assert len(list(history_folder(tmp_path, ROW.path).iterdir())) == 2
    versions = listed(tmp_path, current_sha256=sha(b"B"))
    assert [(v.why, v.sha256, v.at) for v in versions] == [
        ("crawl", sha(b"A"), first.at.isoformat(timespec="microseconds")),
        ("refresh", sha(b"B"), versions[1].at),
    ]
    # An old archive's repeated files are one version too.
    keep_version(tmp_path, "x.md", b"old")
    keep_version(tmp_path, "x.md", b"old")
    (tmp_path / "x.md").write_bytes(b"new")
    assert [v.sha256 for v in listed(tmp_path, "x.md")] == [sha(b"old"), sha(b"new")]


KILLED = """
import dataclasses, os, sys
from pathlib import Path
from newsspider.archive.history import WriteReason
from newsspider.archive.store import ArchiveStore, put_post
from utils.archive import index_row
store = ArchiveStore.open(Path(sys.argv[1]), batch_size=1000, batch_seconds=1000)
def write(row, data, why):
    put = put_post(store.root, row.path, data)
    store.written(dataclasses.replace(row, sha256=put.sha256), put.versions(row.path, why))
for n in (1, 2):
    write(index_row(n), b"first", WriteReason.CRAWL)
    write(index_row(n), b"second %d" % n, WriteReason.REFRESH)
store.index.commit()
write(index_row(3), b"third", WriteReason.CRAWL)
write(index_row(3), b"third, again", WriteReason.REFRESH)
with open(store.index.journal_path, "a") as journal:
    journal.write('{"url": "cut off')  # a line the kill cut short
os._exit(9)  # killed before the batch commits
"""


def test_versions_not_committed_when_killed_are_recovered_with_their_rows(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", KILLED, str(tmp_path)],
        cwd=tmp_path,
        check=False,
        env={"PYTHONPATH": f"{TESTS}:{REPO}"},
    )
    assert proc.returncode == 9
    store = ArchiveStore.open(tmp_path)
    assert store.opened.recovered == 1  # row 3: committed rows 1 and 2 need nothing
    store.close()
    for n, first in ((1, b"first"), (3, b"third")):
        row = index_row(n)
        versions = listed(
            tmp_path, row.path, current_sha256=sha((tmp_path / row.path).read_bytes())
        )
        assert [v.why for v in versions] == ["crawl", "refresh"]
        assert all(v.recorded for v in versions)
        assert version_bytes(tmp_path, versions[0]) == first
    # Opening again replays nothing twice.
    again = ArchiveStore.open(tmp_path)
    assert len(again.index.versions(index_row(3).path)) == 2
    again.close()


def test_a_journal_replayed_after_its_commit_adds_no_version(tmp_path):
    store = ArchiveStore.open(tmp_path, batch_size=1000, batch_seconds=1000)
    write(store, b"A", WriteReason.CRAWL)
    write(store, b"B", WriteReason.REFRESH)
    journal = store.index.journal_path.read_bytes()
    store.close()  # commits, empties the journal
    store.index.journal_path.write_bytes(journal)  # as if killed between commit and truncate
    again = ArchiveStore.open(tmp_path)
    assert [v.why for v in again.index.versions(ROW.path)] == ["crawl", "refresh"]
    again.close()


KILLED_AFTER_A_REWRITE = """
import os, sys
from pathlib import Path
from newsspider.archive.history import WriteReason
from newsspider.archive.store import ArchiveStore
sys.path.insert(0, sys.argv[2])
from test_history import write
store = ArchiveStore.open(Path(sys.argv[1]), batch_size=1000, batch_seconds=1000)
write(store, b"A", WriteReason.CRAWL)
store.index.commit()
write(store, b"B", WriteReason.REFRESH)
os._exit(9)
"""


def test_a_journaled_version_whose_history_file_is_gone_is_not_recovered(tmp_path):
    script = [sys.executable, "-c", KILLED_AFTER_A_REWRITE, str(tmp_path), str(TESTS)]
    env = {"PYTHONPATH": f"{TESTS}:{REPO}"}
    assert subprocess.run(script, cwd=tmp_path, check=False, env=env).returncode == 9
    [kept] = history_folder(tmp_path, ROW.path).iterdir()
    kept.unlink()
    again = ArchiveStore.open(tmp_path)
    assert again.opened.recovered == 1
    records = again.index.versions(ROW.path)
    again.close()
    assert [(r.why, r.kept) for r in records] == [("crawl", None), ("refresh", None)]


def test_articles_are_found_by_url_docid_or_post_path(tmp_path):
    store = ArchiveStore.open(tmp_path)
    write(store, b"A", WriteReason.CRAWL)
    store.close()
    index = ArchiveIndex.read_only(tmp_path)
    for target in (
        ROW.url,
        ROW.url.replace("https:", "http:") + "?from=wap#top",
        str(tmp_path / ROW.path),
        ROW.path,
    ):
        found = article_history(tmp_path, index, target)
        assert found is not None and found.url == ROW.url, target
    for target in (
        "https://finance.sina.com.cn/china/doc-i9999999.shtml",
        "https://example.com/" + ROW.path,
        "../" + ROW.path,
        str(tmp_path.parent / "elsewhere.md"),
        ".newsspider/index.sqlite3",
        ROW.path.removesuffix(".md"),
        "",
        "金融/none.md",
        "a" * 300 + ".md",  # longer than a file name may be
        "a\x00.md",
        "https://finance.sina.com.cn/" + "a" * 5000,
    ):
        assert article_history(tmp_path, index, target) is None, target
    index.close()


def test_a_post_the_index_does_not_know_has_its_history_too(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a/legacy.md").write_bytes(b"legacy")
    index = ArchiveIndex.read_only(tmp_path)
    found = article_history(tmp_path, index, "a/legacy.md")
    index.close()
    assert found is not None and found.url is None
    assert [(v.sha256, v.why) for v in found.versions] == [(sha(b"legacy"), UNKNOWN)]


def test_versions_are_named_by_number_or_sha256_prefix(tmp_path):
    store = ArchiveStore.open(tmp_path)
    for data in (b"A", b"B", b"C"):
        write(store, data, WriteReason.CRAWL)
    store.close()
    versions = tuple(listed(tmp_path))
    assert pick_version(versions, "2").sha256 == sha(b"B")
    assert pick_version(versions, sha(b"C")[:4].upper()).number == 3
    for bad, message in (
        ("0", "give a number"),
        ("4", "give a number"),
        ("abc", "give a number"),
        ("xyz12", "give a number"),
        (
            "ffff" if not any(v.sha256.startswith("ffff") for v in versions) else "eeee",
            "no version",
        ),
    ):
        with pytest.raises(NoSuchVersion, match=message):
            pick_version(versions, bad)
    twins = (
        dataclasses.replace(versions[0], sha256="abcd1" + "0" * 59),
        dataclasses.replace(versions[1], sha256="abcd2" + "0" * 59),
    )
    with pytest.raises(NoSuchVersion, match="ambiguous: versions 1, 2"):
        pick_version(twins, "abcd")


def test_text_diffs_are_unified_and_binary_is_no_diff():
    diff = text_diff(b"a\nb\n", b"a\nc", "old", "new")
    assert diff == ("--- old\n+++ new\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n\\ No newline at end of file\n")
    assert text_diff(b"same\n", b"same\n", "old", "new") == ""
    assert text_diff(b"\xff\xfe", b"a\n", "old", "new") is None
    # Only "\n" ends a line: a stray separator inside a line does not split it.
    assert text_diff("x\u2028y\n".encode(), "x\u2028z\n".encode(), "o", "n").count("\n") == 5


def test_the_journal_holds_a_write_on_one_line(tmp_path):
    store = ArchiveStore.open(tmp_path, batch_size=1000, batch_seconds=1000)
    write(store, b"A", WriteReason.CRAWL)
    write(store, b"B", WriteReason.REFRESH)
    lines = store.index.journal_path.read_text(encoding="utf-8").splitlines()
    store.close()
    assert len(lines) == 2
    second = json.loads(lines[1])
    assert [v["why"] for v in second["versions"]] == [None, "refresh"]
    assert second["versions"][0]["kept"].startswith(".newsspider/history/")


def test_recording_versions_never_commits_a_batch_before_its_row(tmp_path, monkeypatch):
    store = ArchiveStore.open(tmp_path, batch_size=1)  # every row commits its batch
    write(store, b"A", WriteReason.CRAWL)
    put_row = store.index.put
    journaled = []

    def put(row):
        # The row's journal line must still be there: a commit (which empties the journal)
        # between the line and the row would lose the row to a kill.
        journaled.append(store.index.journal_path.read_text(encoding="utf-8"))
        put_row(row)

    monkeypatch.setattr(store.index, "put", put)
    write(store, b"B", WriteReason.REFRESH)  # two version records, then the row
    store.close()
    assert len(journaled) == 1 and ROW.url in journaled[0]
    assert store.index.journal_path.read_text(encoding="utf-8") == ""  # committed with the row
    assert [v.why for v in listed(tmp_path)] == ["crawl", "refresh"]
