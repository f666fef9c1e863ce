"""End to end: the real `scrapy crawl sina_finance` against the mock Sina server."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from newsspider.archive.front_matter import read_front_matter
from newsspider.archive.naming import post_filename

from utils.archive import CHINA_DIR, posts_under
from utils.content import GOLDENS
from utils.crawl import run_crawl
from utils.mocksina import MockSina, serve_synthetic

pytestmark = pytest.mark.e2e


def expected_archive():
    return {(CHINA_DIR / post_filename(g.meta["title"])).as_posix(): g.expected for g in GOLDENS}


def test_verbatim_crawl_writes_every_golden_post_byte_for_byte(mock_sina, tmp_path):
    archive = tmp_path / "archive"
    result = run_crawl(
        mock_sina.base_url, archive, "-a", "pages=3", "-a", "num=3", ARCHIVE_BODY="verbatim"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert posts_under(archive) == expected_archive()
    stats = result.stats
    assert stats["sina/roll/pages"] == 3
    assert stats["archive/written"] == 8
    assert stats["item_scraped_count"] == 8
    for golden in GOLDENS:
        assert mock_sina.count(golden.meta["url"]) == 1
    assert "Traceback" not in result.stderr


def test_rerun_makes_no_article_request_and_rewrites_nothing(mock_sina, tmp_path):
    archive = tmp_path / "archive"
    assert run_crawl(mock_sina.base_url, archive, ARCHIVE_BODY="verbatim").returncode == 0
    before = {p: (archive / p).stat().st_mtime_ns for p in posts_under(archive)}
    again = run_crawl(mock_sina.base_url, archive, ARCHIVE_BODY="verbatim")
    assert again.returncode == 0
    assert again.stats["sina/roll/known"] == 8
    assert "archive/written" not in again.stats
    assert (
        again.stats["downloader/request_count"] == again.stats.get("robotstxt/request_count", 0) + 1
    )
    for golden in GOLDENS:
        assert mock_sina.count(golden.meta["url"]) == 1
    assert {p: (archive / p).stat().st_mtime_ns for p in posts_under(archive)} == before
    assert posts_under(archive) == expected_archive()


def test_pages_stop_at_an_empty_roll_page(mock_sina, tmp_path):
    result = run_crawl(mock_sina.base_url, tmp_path / "a", "-a", "pages=9", "-a", "num=5")
    assert result.returncode == 0
    # 8 items: pages 1 and 2 hold 5 + 3, page 3 comes back empty, page 4 is never asked for.
    assert result.stats["sina/roll/pages"] == 3
    assert result.stats["archive/written"] == 8
    roll_requests = [r for r in mock_sina.requests if "/api/roll/get" in r]
    assert [re.search(r"page=(\d+)", r).group(1) for r in roll_requests] == ["1", "2", "3"]


def test_default_run_reads_one_page_of_50(tmp_path):
    with MockSina() as server:
        urls = serve_synthetic(server, 60)
        result = run_crawl(server.base_url, tmp_path / "a")
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stats["sina/roll/pages"] == 1
        assert result.stats["archive/written"] == 50
        assert [server.count(url) for url in urls] == [1] * 50 + [0] * 10
        assert any("num=50&page=1" in r for r in server.requests)


def test_feed_exports_keep_working(mock_sina, tmp_path):
    out = tmp_path / "items.jsonl"
    result = run_crawl(mock_sina.base_url, tmp_path / "a", "-O", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(row["url"] for row in rows) == sorted(g.meta["url"] for g in GOLDENS)
    for row in rows:
        assert row["post_path"].startswith(CHINA_DIR.as_posix() + "/")
        assert row["categories"] == ["金融", "新浪财经", "新浪财经－国內"]
        assert datetime.fromisoformat(row["date"]).tzinfo is not None
        post = (tmp_path / "a" / row["post_path"]).read_text(encoding="utf-8")
        assert row["post"] == post and post.endswith(row["body"])


def test_unreachable_sina_is_one_clear_line_and_a_failed_exit(tmp_path):
    with MockSina() as server:
        dead = server.base_url
    result = run_crawl(dead, tmp_path / "a", RETRY_TIMES=1)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "could not be reached" in line]
    assert len(lines) == 1
    assert "Traceback" not in result.stderr
    assert result.stats["sina/unreachable"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-a", "pages=0"], "-a pages=0 is not valid"),
        (["-a", "num=51"], "-a num=51 is not valid"),
        (["-s", "ARCHIVE_BODY=fancy"], "ARCHIVE_BODY='fancy' is not valid"),
        (["-s", "WORKER_PROCESSES=many"], "WORKER_PROCESSES='many' is not valid"),
        (["-s", "WORKER_TASK_TIMEOUT=-1"], "WORKER_TASK_TIMEOUT='-1' is not valid"),
    ],
)
def test_bad_arguments_stop_the_run_at_once(tmp_path, args, message):
    result = run_crawl("http://127.0.0.1:9", tmp_path / "a", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "a").exists()


HOSTILE_TITLE = "../../“注意”: <script>alert(1)</script> {{ x }} 100% [ok] #1 it's"


def test_bad_input_is_dropped_with_reasons_and_the_crawl_goes_on(tmp_path):
    golden = GOLDENS[2]
    base = golden.item["url"].rsplit("/", 1)[0]
    no_body = f"{base}/doc-inobody0000001.shtml"
    dead = f"{base}/doc-idead000000002.shtml"
    hostile = f"{base}/doc-ihostil0000003.shtml"
    moved = f"{base}/doc-imoved00000004.shtml"
    image = f"{base}/doc-iimage00000005.shtml"
    with MockSina() as server:
        server.add_page(golden.meta["url"], golden.page)
        server.add_page(no_body, golden.page.replace('id="artibody"', 'id="nothing"'))
        server.add_page(dead, "<html>gone</html>", status=404)
        server.add_page(hostile, golden.page)
        server.add_redirect(moved, "https://finance.sina.com.cn/")
        server.add_page("https://finance.sina.com.cn/", "<html><body>home</body></html>")
        server.add_page(image, b"\x89PNG\r\n", content_type="image/png")

        def item(url, title, **extra):
            return {**golden.item, "url": url, "title": title, **extra}

        server.set_roll(
            155,
            1686,
            [
                golden.item,
                golden.item,  # duplicate
                {"title": "no url"},
                item(no_body, "没有正文"),
                item(dead, "死链"),
                item(hostile, HOSTILE_TITLE, docid="comos:hostil0000003"),
                item(moved, "跳转到首页"),
                item(image, "不是网页"),
                item("https://evil.example/x.shtml", "站外"),
            ],
        )
        archive = tmp_path / "archive"
        result = run_crawl(server.base_url, archive, ARCHIVE_BODY="verbatim")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    stats = result.stats
    assert stats["sina/dropped/duplicate"] == 1
    assert stats["sina/dropped/roll_no_url"] == 1
    assert stats["sina/dropped/roll_off_site_url"] == 1
    assert stats["sina/dropped/no_body"] == 1  # no #artibody
    assert stats["sina/dropped/not_article_page"] == 1  # to the home page
    assert stats["sina/dropped/dead_link"] == 1
    assert stats["sina/dropped/not_html"] == 1
    assert stats["archive/written"] == 2
    posts = posts_under(archive)
    assert set(posts) == {
        (CHINA_DIR / post_filename(golden.meta["title"])).as_posix(),
        (CHINA_DIR / post_filename(HOSTILE_TITLE)).as_posix(),
    }
    hostile_post = (archive / CHINA_DIR / post_filename(HOSTILE_TITLE)).read_text()
    assert read_front_matter(hostile_post)["title"] == HOSTILE_TITLE
    assert all(p.resolve().is_relative_to(archive.resolve()) for p in archive.rglob("*"))
    for line in result.stderr.splitlines():
        if "Dropped" in line:
            assert len(line) < 400, "drop log lines stay short"
