"""End to end: ``scrapy crawl sina_finance -s ARCHIVE_IMAGES=local`` against the mock Sina, its
golden pages and their pictures: clean posts show the stored pictures, and only those."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from utils.archive import posts_under
from utils.content import GOLDEN, GOLDENS
from utils.crawl import refresh_all, run_crawl, writer_with_one_worker
from utils.items import CLEAN
from utils.mocksina import MockSina
from utils.pictures import golden_pictures, serve_pictures
from utils.redis_server import RedisServer

pytestmark = pytest.mark.e2e

IMG_SRC = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"', re.I)
FRONT = re.compile(r"^(headimg|thumbnail): '?([^'\n]*)'?$", re.M)


def shown(post: bytes) -> list[str]:
    """The pictures a post shows: its ``<img src>`` values and front matter head image."""
    text = post.decode("utf-8")
    return [html.unescape(src) for src in IMG_SRC.findall(text)] + [
        value for _, value in FRONT.findall(text) if value
    ]


def crawl(server: MockSina, archive: Path):
    return run_crawl(server.base_url, archive, "-a", "pages=1", ARCHIVE_IMAGES="local")


def test_local_posts_show_the_stored_pictures_and_gain_the_rest_once_stored(tmp_path):
    archive = tmp_path / "site" / "source" / "_posts"
    pictures = tmp_path / "site" / "source" / "images"  # the default, ../images
    urls = golden_pictures(CLEAN)
    failing = {urls[1], urls[-1]}
    with MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, urls)
        for url in failing:
            server.fail_next(url, times=99, status=404)
        first = crawl(server, archive)
        assert first.returncode == 0, first.stderr[-3000:]
        assert first.stats["archive/new"] == len(GOLDENS)
        assert first.stats["images/failed/http_404"] == len(failing)
        posts = posts_under(archive)
        assert len(posts) == len(GOLDENS)
        local = 0
        for name, post in posts.items():
            for src in shown(post):
                if src.startswith("/images/"):
                    assert (pictures / src.removeprefix("/images/")).is_file(), (name, src)
                    local += 1
                else:
                    assert src in failing, (name, src)
        assert local > len(GOLDENS)
        affected = {name for name, post in posts.items() if set(shown(post)) & failing}
        assert affected

        again = crawl(server, archive)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "archive/written" not in again.stats
        assert posts_under(archive) == posts

        # The pictures are fixed: the next rewrite of the posts points them at the files.
        for url in failing:
            server.fail_next(url, times=0)
        refreshed = refresh_all(server.base_url, archive, ARCHIVE_IMAGES="local")
        assert refreshed.returncode == 0, refreshed.stderr[-3000:]
    after = posts_under(archive)
    assert {name for name in posts if after[name] != posts[name]} == affected
    for name, post in after.items():
        for src in shown(post):
            assert src.startswith("/images/"), (name, src)
            assert (pictures / src.removeprefix("/images/")).is_file(), (name, src)
    history = archive / ".newsspider" / "history"
    assert sorted(h.read_bytes() for h in history.rglob("*.md")) == sorted(
        posts[name] for name in affected
    )


def test_local_with_verbatim_posts_stops_the_run_before_it_starts(tmp_path):
    archive = tmp_path / "archive"
    with MockSina.from_golden(GOLDEN) as server:
        result = run_crawl(
            server.base_url, archive, ARCHIVE_IMAGES="local", ARCHIVE_BODY="verbatim"
        )
        assert result.returncode == 2
        assert not server.requests
    errors = [line for line in result.stderr.splitlines() if "ARCHIVE_IMAGES=local" in line]
    assert len(errors) == 1, result.stderr[-3000:]
    assert not archive.exists()


def test_the_distributed_writer_writes_the_posts_a_single_process_run_writes(tmp_path):
    urls = golden_pictures(CLEAN)
    with MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, urls)
        single = crawl(server, tmp_path / "single" / "_posts")
        assert single.returncode == 0, single.stderr[-3000:]
    archive = tmp_path / "distributed" / "_posts"
    with RedisServer(tmp_path / "redis") as redis, MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, urls)
        common = {"DISTRIBUTED_ENABLED": 1, "REDIS_URL": redis.url, "ARCHIVE_IMAGES": "local"}
        worker, writer_code, log = writer_with_one_worker(
            server.base_url, archive, tmp_path / "workers" / "w1", "-a", "pages=1", **common
        )
        assert worker.returncode == 0, worker.stderr[-3000:]
        assert writer_code == 0, log[-3000:]
    posts = posts_under(archive)
    assert posts == posts_under(tmp_path / "single" / "_posts")
    assert any("/images/" in src for post in posts.values() for src in shown(post))


def test_the_feed_export_carries_the_posts_as_written_with_local_pictures(tmp_path):
    import json

    archive = tmp_path / "site" / "source" / "_posts"
    feed = tmp_path / "items.jsonl"
    urls = golden_pictures(CLEAN)
    with MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, urls)
        result = run_crawl(
            server.base_url, archive, "-a", "pages=1", "-O", str(feed), ARCHIVE_IMAGES="local"
        )
        assert result.returncode == 0, result.stderr[-3000:]
    items = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
    posts = posts_under(archive)
    assert len(items) == len(posts) == len(GOLDENS)
    for item in items:
        post = posts[item["post_path"]]
        assert item["post"].encode("utf-8") == post  # the bytes written, pictures local
        assert item["body"] in item["post"]
        assert set(item["images"]) <= set(urls)  # the pictures' own URLs
        assert all(src.startswith("/images/") for src in shown(post)), item["post_path"]


def test_a_refresh_of_pages_that_answer_304_still_shows_the_pictures_stored_since(tmp_path):
    archive = tmp_path / "site" / "source" / "_posts"
    pictures = tmp_path / "site" / "source" / "images"
    urls = golden_pictures(CLEAN)
    failing = urls[1]
    with MockSina.from_golden(GOLDEN) as server:
        for n, golden in enumerate(GOLDENS):  # pages with validators: a re-check may be a 304
            server.add_page(golden.url, golden.page, headers={"ETag": f'"v{n}"'})
        serve_pictures(server, urls)
        server.fail_next(failing, times=99, status=404)
        first = crawl(server, archive)
        assert first.returncode == 0, first.stderr[-3000:]
        posts = posts_under(archive)
        affected = {name for name, post in posts.items() if failing in shown(post)}
        assert affected and len(affected) < len(posts)

        server.fail_next(failing, times=0)
        refreshed = refresh_all(server.base_url, archive, ARCHIVE_IMAGES="local")
        assert refreshed.returncode == 0, refreshed.stderr[-3000:]
        # Only the posts that showed a remote picture were asked for in full.
        full = [h for g in GOLDENS for h in server.headers_of(g.url)[1:]]
        assert sum("if-none-match" not in h for h in full) == len(affected)
        after = posts_under(archive)
        assert {name for name in posts if after[name] != posts[name]} == affected
        for name in affected:
            assert failing not in shown(after[name])
            for src in shown(after[name]):
                assert (pictures / src.removeprefix("/images/")).is_file(), (name, src)

        again = refresh_all(server.base_url, archive, ARCHIVE_IMAGES="local")
        assert again.returncode == 0, again.stderr[-3000:]
        last = [server.headers_of(g.url)[-1] for g in GOLDENS]
        assert all("if-none-match" in h for h in last)  # nothing left to show: all conditional
        assert posts_under(archive) == after
