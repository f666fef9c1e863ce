"""The pictures of the archive (``ARCHIVE_IMAGES=save``): URL rules, type sniffing, content
names, the record, the pipeline's steps and the download handler's picture hosts, with no
crawl running."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from newsspider import settings as project_settings
from newsspider.archive.pictures import (
    PICTURE_META,
    MissingPicture,
    NotPictureUrl,
    PictureRecord,
    content_name,
    host_allowed,
    localize,
    picture_url,
    post_images,
    sniff_image,
    take_census,
)
from newsspider.config import Config, ConfigError, validate_settings
from newsspider.extensions.archive import CrawlArchive
from newsspider.failures import OffSiteRequest, ResponseTooLarge
from newsspider.mirror import MirrorDownloadHandler
from newsspider.pipelines.images import LocalPicturePipeline, PicturePipeline
from newsspider.post import build_post, with_local_pictures
from newsspider.spiders.sina_finance import SinaFinanceSpider

from utils.content import GOLDENS
from utils.items import CLEAN, VERBATIM, fetched
from utils.pictures import GIF, JPEG, PNG, WEBP
from utils.settings import PROJECT
from utils.steps import completed

HOSTS = ("*.sinaimg.cn", "mmbiz.qpic.cn")

# --- type sniffing and content names ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "ext"),
    [
        (JPEG, "jpg"),
        (PNG, "png"),
        (GIF, "gif"),
        (WEBP, "webp"),
        (GIF.replace(b"GIF89a", b"GIF87a"), "gif"),
        (b"<html><body>404</body></html>", None),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', None),
        (b"<svg onload=alert(1)>", None),
        (b"", None),
        (b"\xff\xd8", None),  # too short for a JPEG
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),  # RIFF, but sound
        (b"\x89PNG\r\n", None),
    ],
)
def test_a_picture_is_what_its_bytes_say(data, ext):
    assert sniff_image(data) == ext


def test_files_are_named_by_their_content():
    name = content_name(PNG, "png")
    digest = hashlib.sha256(PNG).hexdigest()
    assert name == f"{digest[:2]}/{digest}.png"
    assert content_name(PNG, "png") == name
    assert content_name(PNG + b"\0", "png") != name


# --- which URLs are fetched -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("n.sinaimg.cn", True),
        ("k.sinaimg.cn", True),
        ("a.b.sinaimg.cn", True),
        ("sinaimg.cn", False),  # *.domain: its subdomains only
        ("evilsinaimg.cn", False),
        ("n.sinaimg.cn.evil.example", False),
        ("mmbiz.qpic.cn", True),
        ("x.mmbiz.qpic.cn", False),  # a plain name matches itself only
        ("qpic.cn", False),
        ("finance.sina.com.cn", False),  # Sina's, but no picture host
    ],
)
def test_the_host_allow_list(host, allowed):
    assert host_allowed(host, HOSTS) is allowed


@pytest.mark.parametrize(
    ("url", "checked"),
    [
        ("https://n.sinaimg.cn/finance/a.jpg", "https://n.sinaimg.cn/finance/a.jpg"),
        ("HTTPS://N.SINAIMG.CN/a.png", "https://n.sinaimg.cn/a.png"),
        ("https://n.sinaimg.cn:443/a.png", "https://n.sinaimg.cn/a.png"),
        (
            "https://mmbiz.qpic.cn/mmbiz_png/x/640?wx_fmt=png",
            "https://mmbiz.qpic.cn/mmbiz_png/x/640?wx_fmt=png",
        ),
        ("https://mmbiz.qpic.cn./a", "https://mmbiz.qpic.cn/a"),
    ],
)
def test_picture_urls_on_the_allow_list_are_fetched_as_scrapy_sends_them(url, checked):
    assert picture_url(url, HOSTS) == checked


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://img.example.com/a.png", "off_site"),
        ("https://finance.sina.com.cn/a.png", "off_site"),
        ("https://evil.example\\.sinaimg.cn/a.png", "off_site"),  # a connection to evil.example
        ("https://evil.example\\@mmbiz.qpic.cn/a.png", "off_site"),
        ("https://user@n.sinaimg.cn/a.png", "userinfo"),
        ("https://user:pw@mmbiz.qpic.cn/a.png", "userinfo"),
        ("https://n.sinaimg.cn:8080/a.png", "port"),
        ("https://mmbiz.qpic.cn:8443/a.png", "port"),
        ("http://127.0.0.1/n.sinaimg.cn/a.png", "bad_host"),
        ("http://[::1]/a.png", "bad_host"),
        ("https://n%2Esinaimg.cn/a.png", "bad_host"),
        ("ftp://n.sinaimg.cn/a.png", "bad_scheme"),
        ("data:image/png;base64,AAAA", "bad_scheme"),
        ("javascript:alert(1)", "bad_scheme"),
        ("", "not_a_url"),
        (None, "not_a_url"),
    ],
)
def test_picture_urls_off_the_list_or_against_the_rules_are_not(url, reason):
    with pytest.raises(NotPictureUrl) as refused:
        picture_url(url, HOSTS)
    assert refused.value.reason == reason


# --- the record -------------------------------------------------------------------------------


def test_the_record_keeps_what_is_stored_and_what_is_missing_across_runs(tmp_path):
    path = tmp_path / ".newsspider" / "pictures.sqlite3"
    record = PictureRecord(path)
    record.stored("https://n.sinaimg.cn/a.png", "ab/abc.png")
    record.failed("https://n.sinaimg.cn/b.png", "http_404")
    record.failed("https://n.sinaimg.cn/a.png", "http_500")  # a stored picture stays stored
    record.close()
    again = PictureRecord(path)
    assert again.get("https://n.sinaimg.cn/a.png").name == "ab/abc.png"
    failed = again.get("https://n.sinaimg.cn/b.png")
    assert (failed.status, failed.name, failed.reason) == ("failed", None, "http_404")
    again.stored("https://n.sinaimg.cn/b.png", "cd/cde.png")
    assert again.get("https://n.sinaimg.cn/b.png").name == "cd/cde.png"
    assert again.get("https://n.sinaimg.cn/c.png") is None
    again.close()
    reader = PictureRecord.read_only(path)
    assert reader.get("https://n.sinaimg.cn/b.png").status == "stored"
    reader.close()
    nothing = PictureRecord.read_only(tmp_path / "elsewhere" / "pictures.sqlite3")
    assert nothing.get("https://n.sinaimg.cn/b.png") is None
    nothing.close()
    assert not (tmp_path / "elsewhere").exists()


def test_the_census_says_what_became_of_each_picture_the_posts_show(tmp_path):
    folder = tmp_path / "images"
    record = PictureRecord(tmp_path / "pictures.sqlite3")
    record.stored("https://n.sinaimg.cn/kept.png", "aa/kept.png")
    record.stored("https://n.sinaimg.cn/deleted.png", "bb/deleted.png")
    record.failed("https://n.sinaimg.cn/dead.png", "http_404")
    (folder / "aa").mkdir(parents=True)
    (folder / "aa" / "kept.png").write_bytes(PNG)
    referenced = {
        "https://n.sinaimg.cn/kept.png": 3,
        "https://n.sinaimg.cn/deleted.png": 1,
        "https://n.sinaimg.cn/dead.png": 2,
        "https://n.sinaimg.cn/new.png": 1,
        "https://img.example.com/elsewhere.png": 1,
        "https://n.sinaimg.cn:8080/port.png": 1,
    }
    census = take_census(referenced, record, folder, HOSTS)
    record.close()
    assert (census.referenced, census.stored) == (6, 1)
    assert census.not_fetched == {"off_site": 1, "port": 1}
    assert census.missing == (
        MissingPicture("https://n.sinaimg.cn/deleted.png", 1, "file_gone"),
        MissingPicture("https://n.sinaimg.cn/dead.png", 2, "failed", "http_404"),
        MissingPicture("https://n.sinaimg.cn/new.png", 1, "not_tried"),
    )
    assert census.failing == (census.missing[1],)


# --- the pipeline's steps ---------------------------------------------------------------------


@pytest.fixture
def make_pipeline():
    """Makes an open pipeline for the archive under a folder (``<folder>/source/_posts``); the
    archives the crawlers opened are closed at the end."""
    archives: list[CrawlArchive] = []

    def make(
        tmp_path: Path, cls: type[PicturePipeline] = PicturePipeline, **settings: Any
    ) -> PicturePipeline:
        crawler = get_crawler(
            SinaFinanceSpider,
            {
                **PROJECT,
                "ARCHIVE_DIR": str(tmp_path / "source" / "_posts"),
                "ARCHIVE_IMAGES": "save",
                "WORKER_PROCESSES": 0,
                "EXTENSIONS": {CrawlArchive: 0},
                **settings,
            },
        )
        archives.append(CrawlArchive.of(crawler))
        crawler.spider = crawler._create_spider()
        pipeline = cls.from_crawler(crawler)
        pipeline.open_spider()
        return pipeline

    yield make
    for archive in archives:
        archive.close()


@pytest.fixture
def pipeline(tmp_path, make_pipeline):
    made = make_pipeline(tmp_path)
    yield made
    completed(made.close_spider())


def article(*images: str):
    built = build_post(fetched(GOLDENS[0]), VERBATIM)
    return dataclasses.replace(built, images=images)


def answer(request: Request, body: bytes, status: int = 200, **headers: str) -> Response:
    return Response(request.url, status=status, body=body, headers=headers, request=request)


def stat(pipeline: PicturePipeline, key: str) -> Any:
    return pipeline.stats.get_value(key)


def test_off_is_the_default_and_switches_the_pipeline_off(tmp_path, make_pipeline):
    with pytest.raises(NotConfigured):
        make_pipeline(tmp_path / "off", ARCHIVE_IMAGES="off")
    with pytest.raises(NotConfigured):
        make_pipeline(tmp_path / "reader", ARCHIVE_WRITES=False)
    assert Config.from_settings(Settings(PROJECT)).images.mode == "off"


def test_the_default_folder_is_beside_the_posts_folder_of_a_hexo_site(tmp_path, pipeline):
    assert pipeline.folder == tmp_path / "source" / "images"
    assert pipeline.record_path == tmp_path / "source" / "_posts" / ".newsspider" / (
        "pictures.sqlite3"
    )


def test_picture_requests_go_to_allowed_hosts_with_no_referer(pipeline):
    item = article(
        "https://n.sinaimg.cn/a.jpg",
        "https://mmbiz.qpic.cn/b/640?wx_fmt=png",
        "https://img.example.com/c.png",
        "https://n.sinaimg.cn:8080/d.png",
    )
    requests = pipeline.get_media_requests(item, pipeline.spiderinfo)
    assert [r.url for r in requests] == [
        "https://n.sinaimg.cn/a.jpg",
        "https://mmbiz.qpic.cn/b/640?wx_fmt=png",
    ]
    for request in requests:
        assert request.meta[PICTURE_META] == request.url
        assert request.meta["allow_offsite"] is True
        assert request.meta["dont_obey_robotstxt"] is True
        assert request.meta["download_maxsize"] == 10 * 1024 * 1024
        assert b"Referer" not in request.headers
        assert request.headers[b"Accept"].startswith(b"image/")
    assert stat(pipeline, "images/skipped/off_site") == 1
    assert stat(pipeline, "images/skipped/port") == 1


def test_a_picture_is_stored_once_under_its_content_hash(pipeline):
    first, second = pipeline.get_media_requests(
        article("https://n.sinaimg.cn/a.png", "https://k.sinaimg.cn/copy-of-a.png"),
        pipeline.spiderinfo,
    )
    info = completed(pipeline.media_downloaded(answer(first, PNG), first, pipeline.spiderinfo))
    name = content_name(PNG, "png")
    assert info["path"] == name
    assert (pipeline.folder / name).read_bytes() == PNG
    completed(pipeline.media_downloaded(answer(second, PNG), second, pipeline.spiderinfo))
    assert [p.name for p in pipeline.folder.rglob("*") if p.is_file()] == [name.split("/")[1]]
    assert stat(pipeline, "images/stored") == 1
    assert stat(pipeline, "images/same_content") == 1
    # Both URLs are stored now: neither is asked for again, by this post or another.
    again = pipeline.get_media_requests(
        article("https://n.sinaimg.cn/a.png", "https://k.sinaimg.cn/copy-of-a.png"),
        pipeline.spiderinfo,
    )
    assert again == []
    assert stat(pipeline, "images/already") == 2


def test_a_stored_picture_whose_file_is_gone_is_fetched_again(pipeline):
    (request,) = pipeline.get_media_requests(
        article("https://n.sinaimg.cn/a.gif"), pipeline.spiderinfo
    )
    completed(pipeline.media_downloaded(answer(request, GIF), request, pipeline.spiderinfo))
    (pipeline.folder / content_name(GIF, "gif")).unlink()
    assert len(pipeline.get_media_requests(article(request.url), pipeline.spiderinfo)) == 1


def refused(pipeline: PicturePipeline, request: Request, response: Response) -> None:
    """What MediaPipeline does with an error in media_downloaded: it hands it to media_failed."""
    try:
        completed(pipeline.media_downloaded(response, request, pipeline.spiderinfo))
    except Exception:
        assert pipeline.media_failed(Failure(), request, pipeline.spiderinfo) is None
    else:
        raise AssertionError("the answer was kept")


def test_what_is_not_a_picture_is_refused_counted_and_recorded(
    pipeline, caplog, tmp_path, make_pipeline
):
    small = make_pipeline(tmp_path / "small", ARCHIVE_IMAGES_MAXSIZE=64)
    urls = [f"https://n.sinaimg.cn/{n}.png" for n in range(5)]
    requests = pipeline.get_media_requests(article(*urls), pipeline.spiderinfo)
    refused(pipeline, requests[0], answer(requests[0], b"", status=404))
    refused(pipeline, requests[1], answer(requests[1], b"<html>oops</html>", status=500))
    html = b"<html><body>not found</body></html>"
    refused(pipeline, requests[2], answer(requests[2], html, **{"Content-Type": "image/png"}))
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    refused(pipeline, requests[3], answer(requests[3], svg, **{"Content-Type": "image/svg+xml"}))
    (big,) = small.get_media_requests(article(urls[4]), small.spiderinfo)
    refused(small, big, answer(big, PNG + b"\0" * 64))
    assert stat(pipeline, "images/failed/http_404") == 1
    assert stat(pipeline, "images/failed/http_500") == 1
    assert stat(pipeline, "images/failed/not_image") == 2
    assert stat(small, "images/failed/too_large") == 1
    assert {url: pipeline.record.get(url).reason for url in urls[:4]} == {
        urls[0]: "http_404",
        urls[1]: "http_500",
        urls[2]: "not_image",
        urls[3]: "not_image",
    }
    lines = [r.getMessage() for r in caplog.records if r.name == "newsspider.pipelines.images"]
    assert sum("Picture not stored" in line for line in lines) == 5
    assert all(r.exc_info is None for r in caplog.records)
    assert not any(pipeline.folder.rglob("*.*"))
    completed(small.close_spider())


def test_download_errors_are_counted_by_their_reason(pipeline):
    (request,) = pipeline.get_media_requests(
        article("https://n.sinaimg.cn/a.png"), pipeline.spiderinfo
    )
    for error in (ResponseTooLarge("larger than DOWNLOAD_MAXSIZE"), TimeoutError("slow")):
        pipeline.media_failed(Failure(error), request, pipeline.spiderinfo)
    assert stat(pipeline, "images/failed/too_large") == 1
    assert stat(pipeline, "images/failed/TimeoutError") == 1


def test_the_item_passes_on_unchanged(pipeline):
    item = article("https://n.sinaimg.cn/a.png")
    assert pipeline.item_completed([], item, pipeline.spiderinfo) is item


# --- ARCHIVE_IMAGES=local: posts that show the stored pictures ---------------------------------

A = "https://n.sinaimg.cn/a.png?x=1&y=2"
B = "https://n.sinaimg.cn/b.jpg"
STORED = {A: "3f/3f9a.png", B: "b0/b0b1.jpg"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '<p><img src="https://n.sinaimg.cn/a.png?x=1&amp;y=2" alt=""></p>',
            '<p><img src="/images/3f/3f9a.png" alt=""></p>',
        ),
        (  # the same picture twice, and a picture not stored, which keeps its URL
            '<img src="https://n.sinaimg.cn/b.jpg"><img alt="x" src="https://n.sinaimg.cn/c.gif">'
            '<img src="https://n.sinaimg.cn/b.jpg">',
            '<img src="/images/b0/b0b1.jpg"><img alt="x" src="https://n.sinaimg.cn/c.gif">'
            '<img src="/images/b0/b0b1.jpg">',
        ),
        (  # only <img src> values: text, links and other attributes stay
            '<p>https://n.sinaimg.cn/b.jpg</p><a href="https://n.sinaimg.cn/b.jpg">b</a>'
            '<img data-src="https://n.sinaimg.cn/b.jpg" src="data:image/png;base64,AA">',
            '<p>https://n.sinaimg.cn/b.jpg</p><a href="https://n.sinaimg.cn/b.jpg">b</a>'
            '<img data-src="https://n.sinaimg.cn/b.jpg" src="data:image/png;base64,AA">',
        ),
        ('<IMG ALT="" SRC="https://n.sinaimg.cn/b.jpg">', '<IMG ALT="" SRC="/images/b0/b0b1.jpg">'),
    ],
)
def test_localize_points_img_sources_at_the_stored_pictures(body, expected):
    assert localize(body, "", STORED, "/images/") == (expected, "")


def test_localize_points_the_head_image_at_its_file_or_keeps_its_url():
    assert localize("", A, STORED, "https://blog.example/img/") == (
        "",
        "https://blog.example/img/3f/3f9a.png",
    )
    assert localize("", "https://n.sinaimg.cn/c.gif", STORED, "/images/") == (
        "",
        "https://n.sinaimg.cn/c.gif",
    )


def test_a_post_with_local_pictures_is_the_post_rendered_with_them():
    item = build_post(fetched(GOLDENS[0]), CLEAN)
    first, *others = item.images
    stored = {url: f"{n:02x}/{n:02x}{'0' * 62}.png" for n, url in enumerate(item.images)}
    del stored[others[-1]]
    local = with_local_pictures(item, stored, "/images/")
    assert local.images == item.images
    assert local.headimg == "/images/00/00" + "0" * 62 + ".png"
    sources = re.findall(r'<img\b[^>]*?\ssrc="([^"]*)"', local.body)
    assert tuple(dict.fromkeys(sources)) == (
        *(f"/images/{stored[url]}" for url in item.images[:-1]),
        others[-1],
    )
    assert post_images(local.body, "") == (others[-1],)
    text = local.post.decode("utf-8")
    assert f"\nheadimg: '{local.headimg}'\n" in text
    assert f"\nthumbnail: '{local.headimg}'\n" in text
    assert first not in text
    assert text.endswith(local.body)
    assert with_local_pictures(item, {}, "/images/") is item


def test_local_needs_clean_posts():
    settings = Settings({**PROJECT, "ARCHIVE_IMAGES": "local"})
    validate_settings(settings)
    settings.set("ARCHIVE_BODY", "verbatim")
    with pytest.raises(ConfigError, match=r"ARCHIVE_IMAGES=local .*ARCHIVE_BODY=verbatim"):
        validate_settings(settings)


def test_each_mode_has_its_pipeline(tmp_path, make_pipeline):
    with pytest.raises(NotConfigured):
        make_pipeline(tmp_path / "save", LocalPicturePipeline)  # ARCHIVE_IMAGES=save
    with pytest.raises(NotConfigured):
        make_pipeline(tmp_path / "local", PicturePipeline, ARCHIVE_IMAGES="local")
    order = project_settings.ITEM_PIPELINES
    local, save = (f"newsspider.pipelines.images.{n}Pipeline" for n in ("LocalPicture", "Picture"))
    writer = order["newsspider.pipelines.archive.ArchiveWriterPipeline"]
    assert order["newsspider.pipelines.normalize.NormalizePipeline"] < order[local] < writer
    assert order[save] > writer


def test_the_local_pipeline_passes_on_the_post_with_the_pictures_stored(tmp_path, make_pipeline):
    pipeline = make_pipeline(tmp_path, LocalPicturePipeline, ARCHIVE_IMAGES="local")
    item = dataclasses.replace(
        build_post(fetched(GOLDENS[0]), CLEAN), images=("https://n.sinaimg.cn/a.png",)
    )
    unstored = pipeline.item_completed([], item, pipeline.spiderinfo)  # nothing stored
    assert unstored == dataclasses.replace(item, remote_images=item.images)
    (request,) = pipeline.get_media_requests(item, pipeline.spiderinfo)
    completed(pipeline.media_downloaded(answer(request, PNG), request, pipeline.spiderinfo))
    item = dataclasses.replace(item, body='<img src="https://n.sinaimg.cn/a.png">')
    local = pipeline.item_completed([], item, pipeline.spiderinfo)
    assert local.body == f'<img src="/images/{content_name(PNG, "png")}">'
    assert local.remote_images == ()
    (pipeline.folder / content_name(PNG, "png")).unlink()  # a file gone is not pointed at
    gone = pipeline.item_completed([], item, pipeline.spiderinfo)
    assert gone == dataclasses.replace(item, remote_images=item.images)
    # A picture no run fetches (off the allow list) is not waited for.
    elsewhere = dataclasses.replace(item, images=("https://img.example.com/a.png",))
    assert pipeline.item_completed([], elsewhere, pipeline.spiderinfo) is elsewhere
    completed(pipeline.close_spider())


# --- the download handler: picture hosts for picture requests only ------------------------------


class RecordingHandler:
    """An inner download handler that answers every request with a PNG and keeps it."""

    lazy = False
    requests: ClassVar[list[Request]] = []

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> RecordingHandler:
        return cls(crawler)

    async def download_request(self, request: Request) -> Response:
        self.requests.append(request)
        return Response(request.url, body=PNG, request=request)

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("mirror", ["", "http://127.0.0.1:1"])
def test_the_handler_lets_picture_requests_alone_reach_the_picture_hosts(mirror):
    RecordingHandler.requests.clear()
    crawler = get_crawler(
        settings_dict={
            "SINA_MIRROR": mirror,
            "SINA_MIRROR_INNER_HANDLER": "test_pictures.RecordingHandler",
        }
    )
    handler = MirrorDownloadHandler(crawler)
    wechat = "https://mmbiz.qpic.cn/mmbiz_png/x/640?wx_fmt=png"
    headers = {"Referer": "https://finance.sina.com.cn/"}
    with pytest.raises(OffSiteRequest):  # an article or robots.txt request: Sina only
        completed(handler.download_request(Request(wechat)))
    for url in (
        "https://img.example.com/a.png",
        "https://mmbiz.qpic.cn:8443/a.png",
        "https://user@mmbiz.qpic.cn/a.png",
        "https://finance.sina.com.cn/a.png",  # Sina's, but not a picture host
    ):
        with pytest.raises(OffSiteRequest):
            completed(handler.download_request(Request(url, meta={PICTURE_META: url})))
    assert RecordingHandler.requests == []
    request = Request(wechat, headers=headers, meta={PICTURE_META: wechat})
    response = completed(handler.download_request(request))
    assert response.url == wechat and response.request is request and response.body == PNG
    (sent,) = RecordingHandler.requests
    assert b"Referer" not in sent.headers
    assert sent.url == (f"{mirror}/mmbiz.qpic.cn/mmbiz_png/x/640?wx_fmt=png" if mirror else wechat)
    assert crawler.stats.get_value("sina/refused/off_site") == 5
