"""End to end, as schedulers run it: incremental runs, adoption of an existing archive,
refresh, kill-and-resume, the archive lock, JOBDIR, error thresholds and progress lines."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from newsspider.archive import lock
from newsspider.archive.front_matter import read_front_matter
from newsspider.archive.index import ArchiveIndex
from newsspider.archive.naming import legacy_stem, post_filename

from utils.archive import CHINA_DIR, posts_under
from utils.content import GOLDENS, synthetic_article
from utils.crawl import REPO, audit, crawl_command, latest_report, refresh_all, run_crawl, scrapy
from utils.mocksina import MockSina

pytestmark = pytest.mark.e2e


def roll_pages(server):
    return [int(r.split("page=")[1].split("&")[0]) for r in server.requests if "/api/roll/" in r]


def serve_items(server, indexes, **page_headers):
    items = []
    for index in indexes:
        article = synthetic_article(index)
        server.add_page(article.url, article.page, headers=page_headers.get(str(index)))
        items.append(article.item)
    return items


def test_catch_up_stops_at_the_first_page_with_nothing_new(tmp_path):
    archive = tmp_path / "a"
    with MockSina() as server:
        old = serve_items(server, range(100, 120))
        server.set_roll(155, 1686, old)
        first = run_crawl(server.base_url, archive, "-a", "pages=2", "-a", "num=10")
        assert first.stats["archive/new"] == 20
        new = serve_items(server, range(15))
        server.set_roll(155, 1686, new + old)
        server.requests.clear()
        second = run_crawl(server.base_url, archive, "-a", "num=10")
        assert second.returncode == 0, second.stderr[-3000:]
        # Page 1: 10 new; page 2: 5 new, 5 known; page 3: all known, so page 4 is never read.
        assert roll_pages(server) == [1, 2, 3]
        assert second.stats["archive/new"] == 15
        assert second.stats["sina/roll/known"] == 15
        assert [server.count(i["url"]) for i in new + old] == [1] * 15 + [0] * 20
        assert "caught up" in second.stderr
        server.requests.clear()
        third = run_crawl(server.base_url, archive, "-a", "num=10")
        assert roll_pages(server) == [1]
        assert third.stats["downloader/request_count"] == 1 + third.stats.get(
            "robotstxt/request_count", 0
        )
    code, report = audit(archive)
    assert code == 0
    assert report["indexed"] == report["posts_on_disk"] == 35


def test_a_newer_roll_mtime_refreshes_the_article(tmp_path):
    archive = tmp_path / "a"
    with MockSina() as server:
        items = serve_items(server, range(3))
        server.set_roll(155, 1686, items)
        assert run_crawl(server.base_url, archive).stats["archive/new"] == 3
        article = synthetic_article(1)
        server.add_page(article.url, article.page.replace("责任编辑：", "（更正）责任编辑："))
        items[1] = {**items[1], "mtime": str(int(items[1]["mtime"]) + 600)}
        server.set_roll(155, 1686, items)
        server.requests.clear()
        result = run_crawl(server.base_url, archive)
        assert result.returncode == 0, result.stderr[-3000:]
        assert [server.count(i["url"]) for i in items] == [0, 1, 0]
    assert result.stats["archive/updated"] == 1
    assert result.stats["archive/history"] == 1
    post = next(d for d in posts_under(archive).values() if "（更正）" in d.decode())
    assert read_front_matter(post.decode())["title"] == items[1]["title"]
    history = list((archive / ".newsspider" / "history").rglob("*.md"))
    assert len(history) == 1
    assert "（更正）" not in history[0].read_text()
    index = ArchiveIndex(archive)
    assert index.get(items[1]["url"]).mtime == int(items[1]["mtime"])
    index.close()


def legacy_archive(folder):
    """The golden posts, as the older pipeline named them (`%` and all), with no index."""
    target = folder / CHINA_DIR
    target.mkdir(parents=True)
    for golden in GOLDENS:
        (target / (legacy_stem(golden.meta["title"]) + ".md")).write_bytes(golden.expected)
    return {
        (CHINA_DIR / (legacy_stem(g.meta["title"]) + ".md")).as_posix(): g.expected for g in GOLDENS
    }


def test_an_existing_archive_is_adopted_without_duplicates(mock_sina, tmp_path):
    archive = tmp_path / "a"
    before = legacy_archive(archive)
    assert sum("%" in name for name in before) == 3
    result = run_crawl(mock_sina.base_url, archive, ARCHIVE_BODY="verbatim")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stats["archive/adopted"] == 8
    assert "archive/written" not in result.stats
    assert posts_under(archive) == before  # same names, same bytes: nothing duplicated
    code, report = audit(archive)
    assert code == 0
    assert report["indexed"] == 8
    assert report["by_channel"] == {"china": {"live": 8}}


def test_adoption_rewrites_a_differing_post_and_keeps_its_bytes(mock_sina, tmp_path):
    archive = tmp_path / "a"
    before = legacy_archive(archive)
    result = run_crawl(mock_sina.base_url, archive, ARCHIVE_BODY="clean")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stats["archive/adopted"] == 8
    assert result.stats["archive/updated"] == 8
    after = posts_under(archive)
    assert set(after) == set(before)
    assert all(after[name] != before[name] for name in before)
    kept = sorted(p.read_bytes() for p in (archive / ".newsspider" / "history").rglob("*.md"))
    assert kept == sorted(before.values())


def test_refresh_with_304s_a_changed_article_and_a_gone_one(tmp_path):
    archive = tmp_path / "a"
    with MockSina() as server:
        headers = {str(i): {"ETag": f'"v1-{i}"'} for i in range(5)}
        items = serve_items(server, range(5), **headers)
        server.set_roll(155, 1686, items)
        first = run_crawl(server.base_url, archive, ARCHIVE_BODY="verbatim")
        assert first.stats["archive/new"] == 5
        before = posts_under(archive)
        article = synthetic_article(2)
        changed_page = article.page.replace("责任编辑：", "（更新）责任编辑：")
        server.add_page(article.url, changed_page, headers={"ETag": '"v2-2"'})
        server.add_page(items[4]["url"], "<html>gone</html>", status=410)
        server.requests.clear()
        result = refresh_all(server.base_url, archive, ARCHIVE_BODY="verbatim")
        assert result.returncode == 0, result.stderr[-3000:]
        assert not [r for r in server.requests if "/api/roll/" in r]
    after = posts_under(archive)
    assert set(after) == set(before)  # the gone article's post is kept
    changed = [name for name in before if before[name] != after[name]]
    assert len(changed) == 1 and "（更新）" in after[changed[0]].decode()
    summary = next(line for line in result.stderr.splitlines() if "Summary (sina_refresh" in line)
    assert "checked 5" in summary
    assert "new 0, updated 1, unchanged 3, gone 1" in summary
    history = list((archive / ".newsspider" / "history").rglob("*.md"))
    assert [h.read_bytes() for h in history] == [before[changed[0]]]
    index = ArchiveIndex(archive)
    assert index.get(items[4]["url"]).status == "gone"
    assert index.get(items[2]["url"]).etag == '"v2-2"'
    index.close()
    # Selections: a channel with nothing archived checks nothing.
    again = scrapy(
        "refresh",
        "--channel",
        "macro",
        "-s",
        f"ARCHIVE_DIR={archive}",
        "-s",
        "SINA_MIRROR=http://127.0.0.1:9",
    )
    assert again.returncode == 0
    assert "Refreshing 0 archived article(s)" in again.stderr
    bad = scrapy("refresh", "-s", f"ARCHIVE_DIR={archive}")
    assert bad.returncode == 2
    assert "say what to refresh" in bad.stderr


def complete_post(data: bytes) -> bool:
    text = data.decode("utf-8")
    return (
        text.startswith("\n---\ntitle: ")
        and text.endswith("\n</div>\n")
        and bool(read_front_matter(text).get("title"))
    )


def wait_for_posts(archive, count, proc, limit=60):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(archive.rglob("*.md"))) >= count:
            return
        time.sleep(0.005)


@pytest.mark.parametrize(
    ("signals_and_thresholds"),
    [
        [(signal.SIGKILL, 1), (signal.SIGKILL, 30), (signal.SIGKILL, 70)],
        [(signal.SIGINT, 20), (signal.SIGTERM, 10)],
    ],
    ids=["kill-9", "sigint-sigterm"],
)
def test_interrupted_runs_resume_to_the_same_archive(tmp_path, signals_and_thresholds):
    with MockSina() as server:
        # 200 articles: a crawl stopped gracefully finishes what it holds (dozens of posts), and
        # the next run must still have more than its threshold to do.
        items = serve_items(server, range(200))
        server.set_roll(155, 1686, items)
        archive = tmp_path / "archive"
        for sig, threshold in signals_and_thresholds:
            proc = subprocess.Popen(
                crawl_command(server.base_url, archive, "-a", "pages=4", LOG_LEVEL="ERROR"),
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if sig != signal.SIGKILL:  # this many more posts: the crawl is well under way
                threshold += len(posts_under(archive))
            wait_for_posts(archive, threshold, proc)
            proc.send_signal(sig)
            if sig == signal.SIGKILL:
                assert proc.wait(timeout=60) == -signal.SIGKILL, "the crawl ended before the kill"
            else:
                # Stopped before it finished: not a success, whatever it wrote.
                assert proc.wait(timeout=60) == 128 + sig
                report = latest_report(archive)
                assert report["exit_code"] == 128 + sig
                assert report["outcome"] == f"interrupted ({signal.Signals(sig).name})"
            for name, data in posts_under(archive).items():
                assert complete_post(data), f"partial post {name} after {sig!r} at {threshold}"
        final = run_crawl(server.base_url, archive, "-a", "pages=4")
        assert final.returncode == 0, final.stderr[-3000:]
        reference = tmp_path / "reference"
        assert run_crawl(server.base_url, reference, "-a", "pages=4").returncode == 0
    assert len(posts_under(reference)) == 200
    assert posts_under(archive) == posts_under(reference)
    assert not list(archive.rglob(".newsspider-*.tmp"))
    code, report = audit(archive)
    assert code == 0, report
    assert report["indexed"] == 200


def test_a_crawl_that_cannot_be_built_fails_with_one_line_and_fetches_nothing(mock_sina, tmp_path):
    # The archive writer enabled in a process told not to write the archive: the crawl cannot
    # be built, which is the run's failure, not a success with nothing done.
    result = run_crawl(mock_sina.base_url, tmp_path / "a", ARCHIVE_WRITES="False")
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.count("The crawl stopped: this crawl does not write the archive") == 1
    assert not mock_sina.requests
    assert not posts_under(tmp_path / "a")


def test_a_second_run_on_a_locked_archive_stops_with_a_clear_message(mock_sina, tmp_path):
    archive = tmp_path / "a"
    held = lock.ArchiveLock(archive)
    held.acquire()
    try:
        result = run_crawl(mock_sina.base_url, archive)
        assert result.returncode == 75
        assert "is in use by newsspider pid" in result.stderr
        assert "Traceback" not in result.stderr
        assert not posts_under(archive)
    finally:
        held.release()
    waited = subprocess.Popen(
        crawl_command(mock_sina.base_url, archive, ARCHIVE_LOCK_WAIT=60),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    held.acquire()
    time.sleep(1)
    assert waited.poll() is None  # waiting for the lock
    held.release()
    _, stderr = waited.communicate(timeout=120)
    assert waited.returncode == 0, stderr[-3000:]
    assert len(posts_under(archive)) == 8


def test_two_overlapping_crawls_do_not_corrupt_the_archive(tmp_path):
    with MockSina() as server:
        server.set_roll(155, 1686, serve_items(server, range(60)))
        archive = tmp_path / "a"
        procs = [
            subprocess.Popen(
                crawl_command(server.base_url, archive, "-a", "pages=2", "-a", "num=30"),
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outcomes = sorted(p.communicate(timeout=120)[1] and p.returncode for p in procs)
        assert outcomes in ([0, 75], [0, 0])  # the second stopped, or started after the first
        reference = tmp_path / "reference"
        run_crawl(server.base_url, reference, "-a", "pages=2", "-a", "num=30")
    assert posts_under(archive) == posts_under(reference)
    assert audit(archive)[0] == 0


def test_jobdir_pauses_and_resumes(tmp_path):
    with MockSina() as server:
        server.set_roll(155, 1686, serve_items(server, range(80)))
        archive, jobdir = tmp_path / "a", tmp_path / "job"
        proc = subprocess.Popen(
            crawl_command(
                server.base_url,
                archive,
                "-a",
                "pages=2",
                "-a",
                "num=40",
                JOBDIR=jobdir,
                CONCURRENT_REQUESTS=2,
            ),
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for_posts(archive, 10, proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr[-3000:]  # paused is not finished
        assert (jobdir / "requests.queue").is_dir()
        assert len(posts_under(archive)) < 80
        resumed = run_crawl(
            server.base_url, archive, "-a", "pages=2", "-a", "num=40", JOBDIR=jobdir
        )
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert "Resuming crawl" in resumed.stderr
    assert len(posts_under(archive)) == 80
    assert audit(archive)[0] == 0


def test_too_many_errors_fail_the_run(tmp_path):
    with MockSina() as server:
        items = serve_items(server, range(4))
        for item in items[:3]:
            server.add_page(item["url"], "<html>busy</html>", status=503)
        server.set_roll(155, 1686, items)
        result = run_crawl(server.base_url, tmp_path / "a", RETRY_TIMES=0, RUN_MAX_ERRORS=2)
    assert result.returncode == 1
    assert "Too many errors: 3 failed request(s)" in result.stderr
    assert result.stats["sina/failed/http_503"] == 3
    assert result.stats["archive/new"] == 1


# The old name works for one release, as the new one does, with one deprecation line.
@pytest.mark.parametrize("interval", ["RUN_PROGRESS_INTERVAL", "PROGRESS_INTERVAL"])
def test_progress_and_summary_lines(tmp_path, interval):
    with MockSina() as server:
        server.set_roll(155, 1686, serve_items(server, range(30)))
        result = run_crawl(
            server.base_url,
            tmp_path / "a",
            CONCURRENT_REQUESTS=1,
            DOWNLOAD_DELAY=0.02,
            **{interval: 0.05},
        )
    assert result.returncode == 0
    assert "Progress: roll pages 1" in result.stderr
    deprecated = [line for line in result.stderr.splitlines() if "is deprecated" in line]
    if interval == "PROGRESS_INTERVAL":
        assert len(deprecated) == 1, result.stderr[-3000:]
        assert deprecated[0].endswith(
            "WARNING: PROGRESS_INTERVAL is deprecated; use RUN_PROGRESS_INTERVAL "
            "(the old name works until the next release)"
        )
    else:
        assert deprecated == []
    summary = [
        line for line in result.stderr.splitlines() if "Summary (sina_finance, finished)" in line
    ]
    assert len(summary) == 1
    assert "new 30, updated 0, unchanged 0, gone 0; dropped 0; failed 0" in summary[0]
    report = result.report
    assert report["finish_reason"] == "finished"
    assert report["stats"]["archive/new"] == 30


def test_the_archive_path_can_hold_a_copied_archive(tmp_path, mock_sina):
    """An archive moved elsewhere keeps working: the index holds relative paths."""
    first = tmp_path / "first"
    assert run_crawl(mock_sina.base_url, first).returncode == 0
    moved = tmp_path / "moved"
    shutil.copytree(first, moved)
    again = run_crawl(mock_sina.base_url, moved)
    assert again.stats["sina/roll/known"] == 8
    assert audit(moved)[0] == 0
    name = (CHINA_DIR / post_filename(GOLDENS[0].meta["title"])).as_posix()
    assert name in posts_under(moved)
