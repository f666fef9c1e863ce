"""Pictures for the mock Sina: the tiny image files of ``tests/data/images/``, served at the
picture URLs of the golden posts, each URL with bytes of its own."""

from __future__ import annotations

import hashlib
from pathlib import Path

from newsspider.post import PostRules, Rejected, build_post

from utils.content import GOLDENS, Golden
from utils.crawl import CrawlResult, run_crawl
from utils.items import VERBATIM, fetched
from utils.mocksina import MockSina

IMAGES = Path(__file__).resolve().parent.parent / "data" / "images"
JPEG = (IMAGES / "pixel.jpg").read_bytes()
PNG = (IMAGES / "red.png").read_bytes()
GIF = (IMAGES / "white.gif").read_bytes()
WEBP = (IMAGES / "pixel.webp").read_bytes()
_BY_KIND = {
    "jpg": (JPEG, "image/jpeg"),
    "png": (PNG, "image/png"),
    "gif": (GIF, "image/gif"),
    "webp": (WEBP, "image/webp"),
}


def post_pictures(golden: Golden, rules: PostRules = VERBATIM) -> tuple[str, ...]:
    """The pictures of ``golden``'s post (verbatim unless ``rules`` say; its item's
    ``images``)."""
    built = build_post(fetched(golden), rules)
    assert not isinstance(built, Rejected), built
    return built.images


def golden_pictures(rules: PostRules = VERBATIM) -> list[str]:
    """Every picture of the golden posts (verbatim unless ``rules`` say), each once, in post
    order."""
    return list(dict.fromkeys(url for golden in GOLDENS for url in post_pictures(golden, rules)))


def kind_of(url: str) -> str:
    """The picture type a URL names: its extension, or WeChat's ``wx_fmt``; PNG otherwise."""
    lowered = url.lower()
    for kind in ("jpg", "gif", "webp"):
        if lowered.split("?")[0].endswith("." + kind) or f"wx_fmt={kind}" in lowered:
            return kind
    return "jpg" if ".jpeg" in lowered else "png"


def picture_bytes(url: str) -> bytes:
    """A picture of ``url``'s type, unique to it: the tiny file with the URL appended (decoders
    ignore bytes after the image's end)."""
    data, _ = _BY_KIND.get(kind_of(url), _BY_KIND["jpg"])
    return data + b"\0" + url.encode("utf-8")


def stored_name(data: bytes, ext: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}.{ext}"


def serve_pictures(server: MockSina, urls: list[str]) -> dict[str, bytes]:
    """Serve a picture at each of ``urls``; returns what each serves."""
    served = {}
    for url in urls:
        kind = kind_of(url)
        _, content_type = _BY_KIND.get(kind, _BY_KIND["jpg"])
        served[url] = picture_bytes(url)
        server.add_picture(url, served[url], content_type)
    return served


def crawl_saving_pictures(server: MockSina, archive: Path, **settings: object) -> CrawlResult:
    """One roll page of ``server`` crawled into ``archive`` with verbatim posts and
    ``ARCHIVE_IMAGES=save`` (``settings`` add to them or replace them)."""
    return run_crawl(
        server.base_url,
        archive,
        "-a",
        "pages=1",
        **{"ARCHIVE_BODY": "verbatim", "ARCHIVE_IMAGES": "save", **settings},
    )
