"""End to end: ``scrapy archive_images`` on archives crawled with pictures on, against the mock
Sina and its pictures: the report, a deleted picture, failing pictures, and ``--retry``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from utils.archive import posts_under
from utils.content import GOLDEN
from utils.crawl import scrapy
from utils.mocksina import MockSina
from utils.pictures import crawl_saving_pictures, golden_pictures, serve_pictures

pytestmark = pytest.mark.e2e


def crawl(server: MockSina, archive: Path, **settings: object):
    result = crawl_saving_pictures(server, archive, **settings)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def archive_images(archive: Path, *args: str, **settings: object):
    flags = [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    return scrapy("archive_images", "-s", f"ARCHIVE_DIR={archive}", *flags, *args)


def report_of(archive: Path, **settings: object) -> tuple[int, dict[str, Any]]:
    result = archive_images(archive, "--json", **settings)
    return result.returncode, json.loads(result.stdout)


def test_the_report_before_and_after_a_stored_picture_is_deleted(tmp_path):
    archive = tmp_path / "source" / "_posts"
    folder = tmp_path / "source" / "images"
    urls = golden_pictures()
    with MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, urls)
        crawl(server, archive)
        code, report = report_of(archive)
        assert code == 0, report
        assert report["referenced"] == report["stored"] == len(urls)
        assert report["missing"] == [] and report["not_fetched"] == {}
        assert report["posts_read_from_files"] == 0  # the index knows each post's pictures

        text = archive_images(archive)
        assert text.returncode == 0, text.stderr[-2000:]
        assert f"stored: {len(urls)}\n" in text.stdout
        assert "missing: 0\n" in text.stdout

        # The QR code of most posts: one file, shown by several posts.
        with sqlite3.connect(archive / ".newsspider" / "pictures.sqlite3") as db:
            (name,) = db.execute("SELECT name FROM pictures WHERE url = ?", (urls[0],)).fetchone()
        (folder / name).unlink()
        code, report = report_of(archive)
        assert code == 1
        assert [(p["url"], p["why"]) for p in report["missing"]] == [(urls[0], "file_gone")]
        assert report["stored"] == len(urls) - 1
        text = archive_images(archive)
        assert text.returncode == 1
        assert f"{urls[0]} (file_gone; " in text.stdout
        assert "scrapy archive_images --retry" in text.stdout

        before = server.count(urls[0])
        retried = archive_images(archive, "--retry", "-s", f"SINA_MIRROR={server.base_url}")
        assert retried.returncode == 0, retried.stderr[-3000:]
        assert server.count(urls[0]) == before + 1
        assert all(server.count(url) == 1 for url in urls[1:])  # only what was missing
        assert (folder / name).is_file()
        assert "missing: 0\n" in retried.stdout


def test_failing_pictures_are_listed_and_retry_stores_them_once_they_are_back(tmp_path):
    archive = tmp_path / "archive"
    urls = golden_pictures()
    dead, broken = urls[1], urls[2]
    with MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, urls)
        server.fail_next(dead, times=99, status=404)
        server.fail_next(broken, times=99, status=500)
        crawl(server, archive, ARCHIVE_IMAGES_HOSTS="n.sinaimg.cn")
        posts = posts_under(archive)
        code, report = report_of(archive, ARCHIVE_IMAGES_HOSTS="n.sinaimg.cn")
        assert code == 1
        failing = {p["url"]: p["reason"] for p in report["missing"] if p["why"] == "failed"}
        assert failing == {dead: "http_404", broken: "http_500"}
        assert report["failing"] == 2
        wechat = [url for url in urls if "qpic.cn" in url]
        assert report["not_fetched"] == {"off_site": len(wechat)}
        assert report["stored"] == len(urls) - 2 - len(wechat)
        text = archive_images(archive, ARCHIVE_IMAGES_HOSTS="n.sinaimg.cn").stdout
        assert "failing: 2 (http_404 1, http_500 1)" in text

        # Still failing: the retry run itself succeeds, but pictures are still missing.
        mirror = f"SINA_MIRROR={server.base_url}"
        still = archive_images(
            archive, "--retry", "-s", mirror, ARCHIVE_IMAGES_HOSTS="n.sinaimg.cn", RETRY_TIMES=0
        )
        assert still.returncode == 1, still.stderr[-3000:]
        assert "missing: 2\n" in still.stdout

        server.fail_next(dead, times=0)
        server.fail_next(broken, times=0)
        fixed = archive_images(
            archive, "--retry", "-s", mirror, ARCHIVE_IMAGES_HOSTS="n.sinaimg.cn"
        )
        assert fixed.returncode == 0, fixed.stderr[-3000:]
        assert "missing: 0\n" in fixed.stdout
        assert not any("qpic.cn" in target for target in server.requests)
        assert posts_under(archive) == posts  # save: the posts are left as they are


def test_a_folder_that_is_no_archive_is_a_usage_error(tmp_path):
    result = archive_images(tmp_path / "nothing")
    assert result.returncode == 2
    assert "no archive at" in result.stderr
    assert not (tmp_path / "nothing").exists()
