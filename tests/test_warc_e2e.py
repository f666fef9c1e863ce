"""End to end: ``scrapy crawl -s ARCHIVE_WARC=True`` records the pages it fetches, and
``scrapy rebuild`` makes the posts again from those records, with no request at all."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from newsspider.archive.index import ArchiveIndex
from newsspider.archive.naming import post_filename
from newsspider.archive.warc import WRITING_NOTE, complete_length, read_capture, warc_folder

from utils.archive import CHINA_DIR, posts_under
from utils.content import GOLDEN, GOLDENS, synthetic_article
from utils.crawl import REPO, audit, crawl_command, latest_report, run_crawl, scrapy
from utils.items import CLEAN
from utils.mocksina import MockSina
from utils.pictures import golden_pictures, serve_pictures

pytestmark = pytest.mark.e2e

CLOSED = "http://127.0.0.1:9"  # nothing listens there: a rebuild that fetched would fail
GZIPPED, CHUNKED = GOLDENS[0], GOLDENS[1]


def golden_server() -> MockSina:
    """The golden pages, one of them sent gzip-encoded and one chunked."""
    server = MockSina.from_golden(GOLDEN)
    server.add_page(GZIPPED.url, GZIPPED.page.encode("utf-8"), gzipped=True)
    server.add_page(CHUNKED.url, CHUNKED.page.encode("utf-8"), chunked=True)
    return server


def expected_archive() -> dict[str, bytes]:
    return {(CHINA_DIR / post_filename(g.meta["title"])).as_posix(): g.expected for g in GOLDENS}


def rebuild(archive: Path, *args: str, **settings: object) -> subprocess.CompletedProcess[str]:
    options = [f"SINA_MIRROR={CLOSED}", f"ARCHIVE_DIR={archive}", "LOG_LEVEL=INFO"]
    options += [f"{name}={value}" for name, value in settings.items()]
    return scrapy("rebuild", *(args or ("--all",)), *[p for o in options for p in ("-s", o)])


def records(archive: Path) -> list[tuple[str, str, dict[str, str], bytes]]:
    """Every record of every WARC file, as a WARC reader gives it: type, URI, HTTP headers,
    the decoded content."""
    found = []
    for path in sorted(warc_folder(archive).glob("*.warc.gz")):
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                headers = dict(record.http_headers.headers) if record.http_headers else {}
                found.append(
                    (
                        record.rec_type,
                        record.rec_headers.get_header("WARC-Target-URI"),
                        headers,
                        record.content_stream().read(),
                    )
                )
    return found


def gzipped_payload(archive: Path, url: str) -> bytes:
    """The payload of the response record of ``url``, as stored (not decoded)."""
    for path in sorted(warc_folder(archive).glob("*.warc.gz")):
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                uri = record.rec_headers.get_header("WARC-Target-URI")
                if record.rec_type == "response" and uri == url:
                    return bytes(record.raw_stream.read())
    raise AssertionError(f"no response record of {url}")


def stat_of(archive: Path) -> dict[str, tuple[int, int]]:
    return {
        name: ((archive / name).stat().st_ino, (archive / name).stat().st_mtime_ns)
        for name in posts_under(archive)
    }


def test_capture_reads_back_as_served_and_a_verbatim_rebuild_changes_nothing(tmp_path):
    archive = tmp_path / "a"
    with golden_server() as server:
        crawled = run_crawl(server.base_url, archive, ARCHIVE_BODY="verbatim", ARCHIVE_WARC="True")
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    assert crawled.stats["archive/warc/pages"] == len(GOLDENS)
    assert crawled.stats["archive/warc/rolls"] == 1
    assert posts_under(archive) == expected_archive()
    # Every page reads back, with a plain WARC reader, as the page served.
    found = records(archive)
    pages = {uri: (headers, body) for kind, uri, headers, body in found if kind == "response"}
    for golden in GOLDENS:
        _, body = pages[golden.url]
        assert body == golden.page.encode("utf-8"), golden.url
    assert pages[GZIPPED.url][0].get("Content-Encoding") == "gzip"  # recorded as received
    assert gzipped_payload(archive, GZIPPED.url).startswith(b"\x1f\x8b")
    # The HTTP client joined the chunks: the record holds the page whole, and says nothing of
    # chunks a reader would try to take apart.
    assert "Transfer-Encoding" not in pages[CHUNKED.url][0]
    assert "Content-Length" not in pages[CHUNKED.url][0]
    assert any("/api/roll/get" in uri for uri in pages)  # the roll page too
    requests = [uri for kind, uri, _, _ in found if kind == "request"]
    assert sorted(requests) == sorted(pages)
    assert not (warc_folder(archive) / WRITING_NOTE).exists()  # closed cleanly
    # The index knows where each article's capture is, and that record is the page.
    index = ArchiveIndex.read_only(archive)
    rows = list(index.rows())
    index.close()
    assert len(rows) == len(GOLDENS)
    for row in rows:
        assert row.capture is not None
        page = read_capture(warc_folder(archive), row.capture)
        assert page.url == row.url
        assert page.metadata["url"] == row.url and page.metadata["channel"] == "china"
        assert page.metadata["entry"]["title"] == row.title
    before = stat_of(archive)
    result = rebuild(archive, ARCHIVE_BODY="verbatim")
    assert result.returncode == 0, result.stderr[-3000:]
    report = latest_report(archive)
    assert report is not None and report["spider"] == "sina_rebuild"
    assert report["stats"]["archive/unchanged"] == len(GOLDENS)
    assert report["stats"]["rebuild/read"] == len(GOLDENS)
    assert "downloader/request_count" not in report["stats"]
    assert posts_under(archive) == expected_archive()
    assert stat_of(archive) == before  # no post touched
    assert not (archive / ".newsspider" / "history").exists()
    assert audit(archive)[0] == 0


def test_a_clean_rebuild_is_a_clean_crawl_and_keeps_the_verbatim_posts_in_history(tmp_path):
    archive, reference = tmp_path / "a", tmp_path / "reference"
    sourced = tmp_path / "sourced"
    with golden_server() as server:
        crawled = run_crawl(server.base_url, archive, ARCHIVE_BODY="verbatim", ARCHIVE_WARC="True")
        assert crawled.returncode == 0, crawled.stderr[-3000:]
        assert run_crawl(server.base_url, reference, ARCHIVE_BODY="clean").returncode == 0
        assert run_crawl(server.base_url, sourced, ARCHIVE_AUTHOR="source").returncode == 0
    result = rebuild(archive, ARCHIVE_BODY="clean")
    assert result.returncode == 0, result.stderr[-3000:]
    stats = latest_report(archive)["stats"]  # type: ignore[index]
    assert stats["archive/updated"] == len(GOLDENS)
    assert stats["archive/history"] == len(GOLDENS)
    # The same bytes as a live clean crawl of the same pages.
    assert posts_under(archive) == posts_under(reference)
    history = sorted(p.read_bytes() for p in (archive / ".newsspider/history").rglob("*.md"))
    assert history == sorted(expected_archive().values())
    # The history says why each version was written.
    listed = scrapy("archive_history", GOLDENS[2].url, "--json", "-s", f"ARCHIVE_DIR={archive}")
    assert listed.returncode == 0, listed.stderr[-2000:]
    versions = json.loads(listed.stdout)["versions"]
    assert [v["why"] for v in versions] == ["crawl", "rebuild"]
    # A second clean rebuild finds nothing to change.
    again = rebuild(archive, ARCHIVE_BODY="clean")
    assert again.returncode == 0
    assert latest_report(archive)["stats"]["archive/unchanged"] == len(GOLDENS)  # type: ignore[index]
    assert audit(archive)[0] == 0
    # The roll entry recorded with the page is the crawl's, its source (media_name) too.
    assert rebuild(archive, ARCHIVE_AUTHOR="source").returncode == 0
    assert posts_under(archive) == posts_under(sourced)
    assert posts_under(sourced) != posts_under(reference)


def test_articles_without_a_capture_are_counted_and_listed(tmp_path):
    archive = tmp_path / "a"
    with MockSina() as server:
        items = []
        for index in range(6):
            article = synthetic_article(index)
            server.add_page(article.url, article.page)
            items.append(article.item)
        server.set_roll(155, 1686, items[:3])
        assert run_crawl(server.base_url, archive).returncode == 0  # capture off
        server.set_roll(155, 1686, items)
        second = run_crawl(server.base_url, archive, ARCHIVE_WARC="True")
        assert second.returncode == 0, second.stderr[-3000:]
        assert second.stats["archive/new"] == 3
    result = rebuild(archive)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Rebuilding 3 archived article(s) from their captures (3 without one)" in result.stderr
    report = latest_report(archive)
    assert report is not None
    assert report["stats"]["rebuild/no_capture"] == 3
    assert report["stats"]["archive/unchanged"] == 3
    listed = {e["url"] for e in report["not_archived"] if e["reason"] == "no_capture"}
    assert listed == {item["url"] for item in items[:3]}
    # A selection: the channel has none of them.
    none = rebuild(archive, "--channel", "macro")
    assert none.returncode == 0
    assert "Rebuilding 0 archived article(s)" in none.stderr


def test_a_cut_off_warc_file_costs_its_articles_only_and_fails_the_run(tmp_path):
    archive = tmp_path / "a"
    with golden_server() as server:
        # A file per page or two: rotation by size.
        crawled = run_crawl(
            server.base_url, archive, ARCHIVE_WARC="True", ARCHIVE_WARC_MAXSIZE=20000
        )
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    files = sorted(warc_folder(archive).glob("*.warc.gz"))
    assert len(files) >= 4
    assert all(complete_length(f) == f.stat().st_size for f in files)
    index = ArchiveIndex.read_only(archive)
    rows = list(index.rows())
    index.close()
    victim = next(r for r in rows if r.capture is not None and r.capture.file == files[2].name)
    hit = {r.url for r in rows if r.capture is not None and r.capture.file == files[2].name}
    size = files[2].stat().st_size
    with open(files[2], "r+b") as handle:
        handle.truncate(victim.capture.offset + 100)  # type: ignore[union-attr]
    before = posts_under(archive)
    result = rebuild(archive, ARCHIVE_BODY="verbatim")
    assert size > files[2].stat().st_size
    assert result.returncode == 1, result.stderr[-3000:]
    report = latest_report(archive)
    assert report is not None
    stats = report["stats"]
    assert stats["rebuild/unreadable"] >= 1
    assert stats["newsspider/run_failed"] == "unreadable_captures"
    failed = {e["url"] for e in report["not_archived"] if e["reason"] == "capture_unreadable"}
    assert victim.url in failed and failed <= hit
    # The others were rebuilt (verbatim, from a clean crawl: every one of them rewritten).
    assert stats["archive/updated"] == len(GOLDENS) - len(failed)
    after = posts_under(archive)
    assert {name for name in before if before[name] == after[name]} == {
        r.path for r in rows if r.url in failed
    }
    assert "could not be read back" in result.stderr


def serve_many(server: MockSina, count: int) -> list[dict[str, object]]:
    items = []
    for index in range(count):
        article = synthetic_article(index)
        # Every third page gzip-encoded: those records are the largest part of a file.
        server.add_page(article.url, article.page, gzipped=index % 3 == 0)
        items.append(article.item)
    return items


def test_a_crawl_killed_while_capturing_leaves_every_record_readable(tmp_path):
    archive = tmp_path / "a"
    with MockSina() as server:
        items = serve_many(server, 150)
        server.set_roll(155, 1686, items)
        command = crawl_command(
            server.base_url,
            archive,
            "-a",
            "pages=3",
            ARCHIVE_WARC="True",
            ARCHIVE_WARC_MAXSIZE=400000,
            LOG_LEVEL="ERROR",
        )
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(archive.rglob("*.md"))) >= 30:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL, "the crawl ended before the kill"
        note = warc_folder(archive) / WRITING_NOTE
        assert note.is_file()  # the file being written is named
        current = warc_folder(archive) / note.read_text().strip()
        # A record cut off by the kill, as the disk may hold it: half a gzip member.
        tail = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" * 200)
        with open(current, "ab") as handle:
            handle.write(tail[: len(tail) // 2])
        cut_size = current.stat().st_size
        final = run_crawl(
            server.base_url, archive, "-a", "pages=3", ARCHIVE_WARC="True",
            ARCHIVE_WARC_MAXSIZE=400000,
        )  # fmt: skip
        assert final.returncode == 0, final.stderr[-3000:]
    assert "of a cut-off WARC record" in final.stderr
    assert current.stat().st_size >= cut_size - len(tail) // 2
    assert not note.exists()
    files = sorted(warc_folder(archive).glob("*.warc.gz"))
    assert len(files) >= 2
    for path in files:  # every file whole, every record readable by a WARC reader
        assert complete_length(path) == path.stat().st_size, path.name
    served = {a["url"]: synthetic_article(i).page for i, a in enumerate(items)}
    pages = {uri: body for kind, uri, _, body in records(archive) if kind == "response"}
    assert set(served) <= set(pages)
    for url, page in served.items():
        assert pages[url] == page.encode("utf-8"), url
    index = ArchiveIndex.read_only(archive)
    rows = list(index.rows())
    index.close()
    assert len(rows) == 150
    for row in rows:  # every row points at a whole record of its page
        assert row.capture is not None, row.url
        page = read_capture(warc_folder(archive), row.capture)
        assert page.metadata["url"] == row.url
    result = rebuild(archive)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = latest_report(archive)["stats"]  # type: ignore[index]
    assert stats["archive/unchanged"] == 150


def test_capture_and_rebuild_refuse_what_they_cannot_do(tmp_path):
    # The distributed mode does not capture: exit 2 before Redis is even asked.
    result = scrapy(
        "crawl", "sina_finance", "-s", "DISTRIBUTED_ENABLED=1", "-s",
        "REDIS_URL=redis://127.0.0.1:9/0", "-s", "ARCHIVE_WARC=True", "-s",
        f"ARCHIVE_DIR={tmp_path / 'd'}",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-3000:]
    assert "ARCHIVE_WARC is not supported with DISTRIBUTED_ENABLED" in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error" in line.lower()]) == 1
    # No archive, no index: nothing to rebuild, nothing created.
    missing = rebuild(tmp_path / "nothing")
    assert missing.returncode == 2
    assert "no archive at" in missing.stderr and "nothing to rebuild" in missing.stderr
    assert not (tmp_path / "nothing").exists()
    (tmp_path / "empty").mkdir()
    no_index = rebuild(tmp_path / "empty")
    assert no_index.returncode == 2 and "no archive index at" in no_index.stderr
    distributed = rebuild(tmp_path / "nothing", DISTRIBUTED_ENABLED=1)
    assert distributed.returncode == 2
    assert "without DISTRIBUTED_ENABLED" in distributed.stderr
    (tmp_path / "empty" / ".newsspider").mkdir()
    (tmp_path / "empty" / ".newsspider" / "index.sqlite3").write_bytes(b"")
    unselected = scrapy("rebuild", "-s", f"ARCHIVE_DIR={tmp_path / 'empty'}")
    assert unselected.returncode == 2 and "say what to rebuild" in unselected.stderr
    pictures = rebuild(tmp_path / "empty", ARCHIVE_IMAGES="save", ARCHIVE_IMAGES_FETCH=True)
    assert pictures.returncode == 2
    assert "ARCHIVE_IMAGES_FETCH=True fetches pictures" in pictures.stderr
    bad = scrapy("crawl", "sina_finance", "-s", "ARCHIVE_WARC_MAXSIZE=0")
    assert bad.returncode == 2 and "ARCHIVE_WARC_MAXSIZE='0' is not valid" in bad.stderr


def test_a_local_rebuild_fetches_no_picture_and_shows_those_stored_since_the_crawl(tmp_path):
    archive = tmp_path / "site" / "source" / "_posts"
    pictures = tmp_path / "site" / "source" / "images"
    urls = golden_pictures(CLEAN)
    dead = urls[1]
    with MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, urls)
        server.fail_next(dead, times=99, status=404)
        crawled = run_crawl(
            server.base_url, archive, "-a", "pages=1", ARCHIVE_WARC=True, ARCHIVE_IMAGES="local"
        )
        assert crawled.returncode == 0, crawled.stderr[-3000:]
        posts = posts_under(archive)
        showing = {name for name, post in posts.items() if dead.encode() in post}
        assert showing

        same = rebuild(archive, ARCHIVE_IMAGES="local")
        assert same.returncode == 0, same.stderr[-3000:]
        assert posts_under(archive) == posts  # the stored pictures kept, none fetched

        server.fail_next(dead, times=0)
        retried = scrapy(
            "archive_images", "--retry", "-s", f"ARCHIVE_DIR={archive}",
            "-s", f"SINA_MIRROR={server.base_url}", "-s", "ARCHIVE_IMAGES=local",
        )  # fmt: skip
        assert retried.returncode == 0, retried.stderr[-3000:]
    gained = rebuild(archive, ARCHIVE_IMAGES="local")  # the mock is gone: no network at all
    assert gained.returncode == 0, gained.stderr[-3000:]
    after = posts_under(archive)
    assert {name for name in posts if after[name] != posts[name]} == showing
    for name in showing:
        assert dead.encode() not in after[name]
    for post in after.values():
        for src in re.findall(r'<img\b[^>]*?\ssrc="([^"]*)"', post.decode("utf-8")):
            assert src.startswith("/images/") and (pictures / src[len("/images/") :]).is_file()
