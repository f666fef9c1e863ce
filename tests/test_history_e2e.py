"""End to end: ``scrapy archive_history`` after real crawls, refreshes, adoptions and kills."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from newsspider.archive import lock
from newsspider.archive.history import article_history, version_bytes
from newsspider.archive.index import ArchiveIndex
from newsspider.archive.naming import legacy_stem

from utils.archive import CHINA_DIR, posts_under
from utils.content import GOLDENS, synthetic_article
from utils.crawl import REPO, crawl_command, latest_report, refresh_all, run_crawl, scrapy
from utils.mocksina import MockSina

pytestmark = pytest.mark.e2e


def sha(data):
    return hashlib.sha256(data).hexdigest()


def serve(server, indexes):
    items = []
    for index in indexes:
        article = synthetic_article(index)
        server.add_page(article.url, article.page)
        items.append(article.item)
    server.set_roll(155, 1686, items)
    return items


def history(archive, *args):
    return scrapy("archive_history", *args, "-s", f"ARCHIVE_DIR={archive}")


def versions_of(archive, target):
    result = history(archive, target, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refresh(server, archive, *settings):
    values = dict(setting.split("=", 1) for setting in settings)
    result = refresh_all(server.base_url, archive, **values)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def changed_lines(diff):
    """The lines a unified diff removes and adds, without its two header lines."""
    lines = diff.splitlines()
    assert lines[0].startswith("--- ") and lines[1].startswith("+++ ")
    return [line for line in lines[2:] if line.startswith(("-", "+"))]


def test_a_crawl_and_two_refreshes_are_three_versions_with_their_diffs(tmp_path):
    archive = tmp_path / "a"
    with MockSina() as server:
        items = serve(server, range(3))
        assert run_crawl(server.base_url, archive, ARCHIVE_BODY="verbatim").returncode == 0
        article = synthetic_article(1)
        url = items[1]["url"]
        first_post = posts_under(archive)
        server.add_page(url, article.page.replace("责任编辑：", "（更新）责任编辑："))
        refresh(server, archive, "ARCHIVE_BODY=verbatim")
        server.add_page(url, article.page.replace("责任编辑：", "（再更新）责任编辑："))
        refresh(server, archive, "ARCHIVE_BODY=verbatim")
    report = versions_of(archive, url)
    path = report["path"]
    assert report["url"] == url
    current = (archive / path).read_bytes()
    versions = report["versions"]
    assert [(v["number"], v["why"], v["current"]) for v in versions] == [
        (1, "crawl", False),
        (2, "refresh", False),
        (3, "refresh", True),
    ]
    assert versions[0]["at"] < versions[1]["at"] < versions[2]["at"]
    kept = [(archive / v["file"]).read_bytes() for v in versions]
    assert kept[0] == first_post[path] and kept[2] == current
    assert [(v["sha256"], v["size"]) for v in versions] == [(sha(b), len(b)) for b in kept]
    # The other articles did not change: one version each, written by the crawl.
    other = versions_of(archive, items[0]["url"])["versions"]
    assert [(v["why"], v["current"]) for v in other] == [("crawl", True)]

    text = history(archive, url)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[:2] == [f"article: {url}", f"post: {path}"]
    rows = [line.split() for line in lines[3:]]
    assert [row[:5] for row in rows] == [
        [str(v["number"]), v["at"][:19] + "Z", v["why"], v["sha256"][:12], str(v["size"])]
        for v in versions
    ]
    assert rows[2][5:] == ["current"]
    # By post path, relative or absolute: the same list.
    assert history(archive, path).stdout == text.stdout
    assert history(archive, str(archive / path)).stdout == text.stdout

    editor = next(line for line in kept[0].decode().splitlines() if "责任编辑：" in line)
    diffs = history(archive, url, "--diff")
    assert diffs.returncode == 0, diffs.stderr
    out = diffs.stdout
    assert out.count(f"--- {path} @1\t") == 1 and out.count(f"+++ {path} @2\t") == 1
    assert out.count(f"--- {path} @2\t") == 1 and out.count(f"+++ {path} @3\t") == 1
    listing, diff_text = out.split(f"--- {path} @1\t")
    assert listing == text.stdout  # the list, then the diffs
    first, second = (f"--- {path} @1\t" + diff_text).split(f"--- {path} @2\t")
    second = f"--- {path} @2\t" + second
    assert changed_lines(first) == [
        f"-{editor}",
        f"+{editor.replace('责任编辑：', '（更新）责任编辑：')}",
    ]
    assert changed_lines(second) == [
        f"-{editor.replace('责任编辑：', '（更新）责任编辑：')}",
        f"+{editor.replace('责任编辑：', '（再更新）责任编辑：')}",
    ]
    one_to_three = history(archive, url, "--diff", "1", versions[2]["sha256"][:8])
    assert one_to_three.returncode == 0, one_to_three.stderr
    assert f"--- {path} @1\t" in one_to_three.stdout
    assert f"+++ {path} @3\t" in one_to_three.stdout
    assert "（更新）" not in one_to_three.stdout and "（再更新）" in one_to_three.stdout
    as_json = json.loads(history(archive, url, "--diff", "--json").stdout)
    assert [(d["old"], d["new"]) for d in as_json["diffs"]] == [(1, 2), (2, 3)]
    assert [d["text"] for d in as_json["diffs"]] == [first, second]


def test_unknown_articles_and_versions_are_one_line_and_exit_2(mock_sina, tmp_path):
    archive = tmp_path / "a"
    assert run_crawl(mock_sina.base_url, archive).returncode == 0
    url = GOLDENS[0].url
    for args, message in (
        (("https://finance.sina.com.cn/china/doc-izzzzzzz0000000.shtml",), "no article "),
        (("金融/nothing.md",), "no article "),
        (("../outside.md",), "no article "),
        ((url, "--diff", "1", "9"), "no version '9'"),
        ((url, "--diff", "beef"), None),
    ):
        result = history(archive, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stdout == ""
        if message is not None:
            assert result.stderr.count("\n") == 1, result.stderr
            assert result.stderr.startswith("newsspider: ") and message in result.stderr
    missing = history(tmp_path / "nowhere", url)
    assert missing.returncode == 2
    assert missing.stderr == f"newsspider: no archive at {tmp_path / 'nowhere'}\n"
    assert not (tmp_path / "nowhere").exists()


def legacy_archive(folder):
    """The golden posts, as the older pipeline named them, with no index."""
    target = folder / CHINA_DIR
    target.mkdir(parents=True)
    posts = {}
    for golden in GOLDENS:
        name = (CHINA_DIR / (legacy_stem(golden.meta["title"]) + ".md")).as_posix()
        (folder / name).write_bytes(golden.expected)
        posts[golden.url] = name
    return posts


@pytest.mark.parametrize(
    ("body", "whys"),
    [("verbatim", ["adoption"]), ("clean", ["unknown", "adoption"])],
)
def test_an_adopted_archive_says_adoption(mock_sina, tmp_path, body, whys):
    archive = tmp_path / "a"
    posts = legacy_archive(archive)
    result = run_crawl(mock_sina.base_url, archive, ARCHIVE_BODY=body)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stats["archive/adopted"] == len(GOLDENS)
    for golden in GOLDENS:
        report = versions_of(archive, golden.url)
        assert report["path"] == posts[golden.url]
        assert [v["why"] for v in report["versions"]] == whys
        assert (archive / report["versions"][0]["file"]).read_bytes() == golden.expected


def files_under(archive):
    """Every file and its bytes, but SQLite's own shared-memory and WAL files (which any
    reader of an index in WAL mode may create)."""
    return {
        p.relative_to(archive): p.read_bytes()
        for p in archive.rglob("*")
        if p.is_file() and not p.name.endswith(("-shm", "-wal"))
    }


def test_it_reads_beside_a_run_that_holds_the_archive(mock_sina, tmp_path):
    archive = tmp_path / "a"
    assert run_crawl(mock_sina.base_url, archive).returncode == 0
    held = lock.ArchiveLock(archive)
    held.acquire()
    try:
        before = files_under(archive)
        result = history(archive, GOLDENS[0].url, "--diff")
        assert result.returncode == 0, result.stderr
        assert files_under(archive) == before
    finally:
        held.release()


def test_a_version_that_is_not_text_is_reported_binary(mock_sina, tmp_path):
    archive = tmp_path / "a"
    assert run_crawl(mock_sina.base_url, archive, ARCHIVE_BODY="verbatim").returncode == 0
    path = versions_of(archive, GOLDENS[0].url)["path"]
    (archive / path).write_bytes(b"\xff\xfe not UTF-8\n")  # by hand: the index does not know
    refresh(mock_sina, archive, "ARCHIVE_BODY=verbatim")
    report = versions_of(archive, GOLDENS[0].url)
    assert [(v["why"], v["file"] is None) for v in report["versions"]] == [
        ("crawl", True),  # overwritten by hand: its bytes were not kept
        ("unknown", False),  # the hand's, kept by the refresh that replaced them
        ("refresh", False),
    ]
    assert (archive / report["versions"][2]["file"]).read_bytes() == GOLDENS[0].expected
    diff = history(archive, GOLDENS[0].url, "--diff")
    assert diff.returncode == 1  # the diff from version 1 cannot be made
    assert "versions 1 and 2: no diff, the bytes are not kept" in diff.stdout
    assert "versions 2 and 3 differ (binary: not UTF-8 text)" in diff.stdout
    assert diff.stderr.startswith("newsspider: no diff from version 1 to 2 of ")
    assert history(archive, GOLDENS[0].url, "--diff", "2", "3").returncode == 0


def test_a_refresh_killed_midway_leaves_every_version_recorded_once(tmp_path):
    archive = tmp_path / "a"
    with MockSina() as server:
        items = serve(server, range(200))
        first = run_crawl(server.base_url, archive, "-a", "pages=4", ARCHIVE_BODY="verbatim")
        assert first.returncode == 0, first.stderr[-3000:]
        crawled = posts_under(archive)
        assert len(crawled) == 200
        proc = subprocess.Popen(
            [
                *crawl_command(server.base_url, archive, spider="sina_refresh", LOG_LEVEL="ERROR"),
                "-a",
                "all=1",
                "-s",
                "ARCHIVE_BODY=clean",
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        history_dir = archive / ".newsspider" / "history"
        while proc.poll() is None and len(list(history_dir.rglob("*.md"))) < 20:
            time.sleep(0.005)
        written = len(list(history_dir.rglob("*.md")))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL, "the refresh ended before the kill"
        assert 20 <= written < 200
        refresh(server, archive, "ARCHIVE_BODY=clean")
    stats = latest_report(archive)["stats"]
    # The kill left writes journaled but not committed (recovered), or done but not journaled
    # (found unchanged, and recorded then): what this test is about.
    assert stats.get("archive/recovered", 0) + stats.get("archive/unchanged", 0) > 0
    after = posts_under(archive)
    assert set(after) == set(crawled)
    index = ArchiveIndex.read_only(archive)
    try:
        for item in items:
            found = article_history(archive, index, item["url"])
            assert found is not None, item["url"]
            versions = found.versions
            assert [(v.why, v.recorded, v.current) for v in versions] == [
                ("crawl", True, False),
                ("refresh", True, True),
            ], (found.path, versions)
            assert [version_bytes(archive, v) for v in versions] == [
                crawled[found.path],
                after[found.path],
            ]
            assert versions[1].sha256 == sha(after[found.path])
    finally:
        index.close()
    # The command agrees.
    for item in items[:3]:
        report = versions_of(archive, item["url"])
        assert [v["why"] for v in report["versions"]] == ["crawl", "refresh"]


def test_an_archive_of_an_earlier_release_lists_its_history_files(tmp_path):
    """History files but no recorded version (and an index without the versions table)."""
    archive = tmp_path / "a"
    path = (CHINA_DIR / "旧文章.md").as_posix()
    state = archive / ".newsspider"
    state.mkdir(parents=True)
    db = sqlite3.connect(state / "index.sqlite3")
    db.execute(
        "CREATE TABLE articles (url TEXT PRIMARY KEY, docid TEXT, channel TEXT, path TEXT,"
        " sha256 TEXT, title TEXT, intime INTEGER, mtime INTEGER, etag TEXT,"
        " last_modified TEXT, first_archived TEXT, last_checked TEXT, status TEXT)"
    )
    url = "https://finance.sina.com.cn/china/doc-iold0000001.shtml"
    db.execute(
        "INSERT INTO articles VALUES "
        "(?, ?, 'china', ?, ?, '旧', 1, 1, NULL, NULL, 'x', 'x', 'live')",
        (url, "comos:old0000001", path, sha(b"third\n")),
    )
    db.commit()
    db.close()
    (archive / path).parent.mkdir(parents=True)
    (archive / path).write_bytes(b"third\n")
    folder = state / "history" / path.removesuffix(".md")
    folder.mkdir(parents=True)
    (folder / f"20240101T000000.000000Z-{sha(b'first')[:12]}.md").write_bytes(b"first")
    (folder / f"20240202T020202.000000Z-{sha(b'second')[:12]}.md").write_bytes(b"second")
    before = files_under(archive)
    report = versions_of(archive, url)
    assert [(v["why"], v["at"], v["sha256"], v["size"]) for v in report["versions"]] == [
        ("unknown", None, sha(b"first"), 5),
        ("unknown", "2024-01-01T00:00:00.000000+00:00", sha(b"second"), 6),
        ("unknown", "2024-02-02T02:02:02.000000+00:00", sha(b"third\n"), 6),
    ]
    diff = history(archive, path, "--diff", "1", "3")
    assert diff.returncode == 0, diff.stderr
    assert "-first\n\\ No newline at end of file\n+third\n" in diff.stdout
    assert files_under(archive) == before  # read only: no table added, no journal
