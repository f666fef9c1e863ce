"""End to end: ``scrapy crawl sina_finance -s ARCHIVE_IMAGES=save`` against the mock Sina, its
golden pages and their pictures."""

from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

import pytest

from newsspider.archive.naming import post_filename
from newsspider.archive.pictures import sniff_image

from utils.archive import CHINA_DIR, posts_under
from utils.content import GOLDEN, GOLDENS
from utils.crawl import run_crawl, writer_with_one_worker
from utils.mocksina import MockSina
from utils.pictures import crawl_saving_pictures, golden_pictures, serve_pictures, stored_name
from utils.redis_server import RedisServer

pytestmark = pytest.mark.e2e

PICTURE_HOSTS = {"n.sinaimg.cn", "mmbiz.qpic.cn"}
SINA_HOSTS = ("sina.com.cn", "sina.cn", "sinaimg.cn", "sina.com")


def expected_archive() -> dict[str, bytes]:
    return {(CHINA_DIR / post_filename(g.meta["title"])).as_posix(): g.expected for g in GOLDENS}


def stored_files(folder) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def hosts_asked(server: MockSina) -> set[str]:
    return {target.lstrip("/").split("/", 1)[0] for target in server.requests}


def record_rows(archive) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(archive / ".newsspider" / "pictures.sqlite3") as db:
        return {
            url: (status, name)
            for url, status, name in db.execute("SELECT url, status, name FROM pictures")
        }


def test_save_stores_every_picture_once_and_leaves_the_posts_as_they_are(tmp_path):
    archive = tmp_path / "site" / "source" / "_posts"
    pictures = tmp_path / "site" / "source" / "images"  # the default, ../images
    urls = golden_pictures()
    with MockSina.from_golden(GOLDEN) as server:
        served = serve_pictures(server, urls)
        result = crawl_saving_pictures(server, archive)
        assert result.returncode == 0, result.stderr[-3000:]
        assert posts_under(archive) == expected_archive()
        expected = {stored_name(data, _ext_of(data)) for data in served.values()}
        assert stored_files(pictures) == expected
        for name in expected:
            assert (pictures / name).read_bytes() in served.values()
        stats = result.stats
        assert stats["images/stored"] == len(urls)
        assert stats["images/requests"] == len(urls)
        # The QR code and logos every golden post shows are fetched once, not once per post.
        assert all(server.count(url) == 1 for url in urls)
        assert hosts_asked(server) <= {"feed.mix.sina.com.cn", *_article_hosts(), *PICTURE_HOSTS}
        for url in urls:
            (headers,) = server.headers_of(url)
            assert "referer" not in headers
        assert not any(key.startswith("images/failed/") for key in stats)
        assert set(record_rows(archive)) == set(urls)

        again = crawl_saving_pictures(server, archive)
        assert again.returncode == 0, again.stderr[-3000:]
        assert all(server.count(url) == 1 for url in urls)
        assert "images/stored" not in again.stats
        assert stored_files(pictures) == expected


def _ext_of(data: bytes) -> str:
    ext = sniff_image(data)
    assert ext is not None
    return ext


def _article_hosts() -> set[str]:
    return {urlsplit(g.url).hostname or "" for g in GOLDENS}


def test_failed_pictures_do_not_fail_the_run_and_the_next_run_stores_them(tmp_path):
    archive = tmp_path / "archive"
    pictures = tmp_path / "images"
    urls = golden_pictures()
    missing, broken, huge, html, flaky = urls[0], urls[1], urls[2], urls[3], urls[4]
    with MockSina.from_golden(GOLDEN) as server:
        served = serve_pictures(server, urls)
        server.fail_next(missing, times=99, status=404)
        server.fail_next(broken, times=99, status=500)  # past RETRY_TIMES
        server.add_picture(huge, served[huge] + b"\0" * 4096)
        server.add_page(html, "<html><body>not a picture</body></html>", content_type="image/png")
        server.fail_next(flaky, times=1, status=503)  # a retry fetches it
        result = crawl_saving_pictures(server, archive, ARCHIVE_IMAGES_MAXSIZE=2048)
        assert result.returncode == 0, result.stderr[-3000:]
        assert posts_under(archive) == expected_archive()
        stats = result.stats
        assert stats["images/failed/http_404"] == 1
        assert stats["images/failed/http_500"] == 1
        assert stats["images/failed/too_large"] == 1
        assert stats["images/failed/not_image"] == 1
        assert stats["images/stored"] == len(urls) - 4
        assert server.count(flaky) == 2
        assert server.count(broken) == 3  # RETRY_TIMES=2
        for url in (missing, broken, huge, html):
            assert sum(url in line for line in result.stderr.splitlines()) == 1, url
        assert "Traceback" not in result.stderr
        rows = record_rows(archive)
        assert {url for url, (status, _) in rows.items() if status != "stored"} == {
            missing,
            broken,
            huge,
            html,
        }

        # The pictures are fixed; the next run, with no new article, stores what is missing.
        server.fail_next(missing, times=0)
        server.fail_next(broken, times=0)
        server.add_picture(huge, served[huge])
        server.add_picture(html, served[html])
        again = crawl_saving_pictures(server, archive, ARCHIVE_IMAGES_MAXSIZE=2048)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "archive/written" not in again.stats
        assert again.stats["images/retried"] == 4
        assert again.stats["images/stored"] == 4
        assert all(status == "stored" for status, _ in record_rows(archive).values())
        assert len(stored_files(pictures)) == len(urls)
        assert server.count(flaky) == 2  # stored: never asked again


def test_off_site_pictures_are_not_fetched(tmp_path):
    archive = tmp_path / "archive"
    urls = golden_pictures()
    with MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, urls)
        result = crawl_saving_pictures(server, archive, ARCHIVE_IMAGES_HOSTS="*.sinaimg.cn")
        assert result.returncode == 0, result.stderr[-3000:]
        wechat = [url for url in urls if "qpic.cn" in url]
        assert result.stats["images/skipped/off_site"] == len(wechat)
        assert "mmbiz.qpic.cn" not in hosts_asked(server)
        assert result.stats["images/stored"] == len(urls) - len(wechat)
        assert not any(host.endswith("qpic.cn") for host in hosts_asked(server))
        assert all(host.endswith(SINA_HOSTS) for host in hosts_asked(server)), hosts_asked(server)


def test_the_distributed_writer_stores_the_pictures_a_single_process_run_stores(tmp_path):
    archive = tmp_path / "archive"
    urls = golden_pictures()
    with RedisServer(tmp_path / "redis") as redis, MockSina.from_golden(GOLDEN) as server:
        served = serve_pictures(server, urls)
        common = {
            "DISTRIBUTED_ENABLED": 1,
            "REDIS_URL": redis.url,
            "ARCHIVE_IMAGES": "save",
            "ARCHIVE_BODY": "verbatim",
        }
        worker, writer_code, log = writer_with_one_worker(
            server.base_url, archive, tmp_path / "workers" / "w1", "-a", "pages=1", **common
        )
        assert worker.returncode == 0, worker.stderr[-3000:]
        assert writer_code == 0, log[-3000:]
        assert posts_under(archive) == expected_archive()
        expected = {stored_name(data, _ext_of(data)) for data in served.values()}
        assert stored_files(tmp_path / "images") == expected
        assert all(server.count(url) == 1 for url in urls)
        # Workers only fetch pages: the pictures are the writer's to fetch and keep.
        assert "images/requests" not in worker.stats
        assert not (tmp_path / "workers" / "images").exists()


TRICKS = (
    "https://evil.example\\.sinaimg.cn/a.png",  # fetched from evil.example
    "https://n.sinaimg.cn:8443/b.png",
    "https://user@n.sinaimg.cn/c.png",
    "http://127.0.0.1:9/n.sinaimg.cn/d.png",
    "https://img.example.com/e.png",
    "https://n.sinaimg.cn.evil.example/f.png",
)


def test_pictures_with_url_tricks_are_never_requested(tmp_path):
    golden = next(g for g in GOLDENS if g.slug == "20211213_gongxinbu_seed")
    tricks = "".join(f'<img src="{url}">' for url in TRICKS)
    page = golden.page.replace(
        'data-sudaclick="blk_content">', f'data-sudaclick="blk_content">{tricks}', 1
    )
    with MockSina() as server:
        server.add_page(golden.url, page.encode("utf-8"))
        server.set_roll(155, 1686, [golden.item])
        serve_pictures(server, golden_pictures())
        result = run_crawl(
            server.base_url, tmp_path / "archive", ARCHIVE_IMAGES="save", ARCHIVE_BODY="verbatim"
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stats["archive/written"] == 1
        skipped = {k: v for k, v in result.stats.items() if k.startswith("images/skipped/")}
        assert sum(skipped.values()) == len(TRICKS), skipped
        assert hosts_asked(server) <= {
            "feed.mix.sina.com.cn",
            "finance.sina.com.cn",
            "n.sinaimg.cn",
        }
        assert not any(
            p in target
            for target in server.requests
            for p in ("/a.png", "/b.png", "/c.png", "/d.png", "/e.png", "/f.png")
        )
        assert "sina/refused/off_site" not in result.stats  # none even reached the handler


def test_picture_redirects_are_followed_to_picture_hosts_only_and_without_referer(tmp_path):
    archive = tmp_path / "archive"
    urls = golden_pictures()
    moved, away, looping = urls[0], urls[1], urls[2]
    target = "https://k.sinaimg.cn/moved/qr.png"
    with MockSina.from_golden(GOLDEN) as server:
        served = serve_pictures(server, urls)
        server.add_redirect(moved, target)
        server.add_picture(target, served[moved])
        server.add_redirect(away, "https://img.example.com/elsewhere.png")
        server.add_redirect(looping, looping)
        result = crawl_saving_pictures(server, archive)
        assert result.returncode == 0, result.stderr[-3000:]
        assert posts_under(archive) == expected_archive()
        stats = result.stats
        assert stats["images/failed/redirected_off_site"] == 1
        assert stats["images/failed/redirect_loop"] == 1
        assert stats["images/stored"] == len(urls) - 2
        assert server.count(target) == 1
        (headers,) = server.headers_of(target)
        assert "referer" not in headers
        assert "img.example.com" not in hosts_asked(server)
        rows = record_rows(archive)
        assert rows[moved][0] == "stored"  # under the URL the post shows
        assert rows[away][0] == rows[looping][0] == "failed"
        assert target not in rows
