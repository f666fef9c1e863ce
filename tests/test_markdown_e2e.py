"""End to end: ``scrapy crawl sina_finance -s ARCHIVE_BODY=markdown`` against the mock Sina: the
posts, the ``-O items.jsonl`` feed, a second run, Hexo loading the archive, and markdown posts
that show the stored pictures (``ARCHIVE_IMAGES=local``)."""

from __future__ import annotations

import html
import json
import re

import pytest

from newsspider.archive.body import is_markdown_content
from newsspider.items import ArticleItem
from newsspider.post import build_post

from utils.archive import posts_under
from utils.content import GOLDEN, GOLDENS
from utils.crawl import run_crawl
from utils.hexo_site import generate_hexo_site, load_hexo_posts, picture_sources, post_pages
from utils.items import CLEAN, fetched
from utils.mocksina import MockSina
from utils.pictures import golden_pictures, serve_pictures

pytestmark = [pytest.mark.e2e, pytest.mark.hexo]

MARKDOWN_IMAGE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\(([^)\s]*)\)")


def _front(post: str) -> str:
    return post[: post.index("\n---\n", 1) + len("\n---\n")]


def test_markdown_crawl_writes_markdown_posts_and_feeds_them(tmp_path):
    archive = tmp_path / "archive"
    out = tmp_path / "items.jsonl"
    with MockSina.from_golden(GOLDEN) as server:
        result = run_crawl(server.base_url, archive, "-O", str(out), ARCHIVE_BODY="markdown")
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stats["archive/written"] == len(GOLDENS)
        posts = posts_under(archive)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == len(posts) == len(GOLDENS)
        clean = {}
        for golden in GOLDENS:
            item = build_post(fetched(golden), CLEAN)
            assert isinstance(item, ArticleItem)
            clean[golden.meta["url"]] = item
        for row in rows:
            post = posts[row["post_path"]].decode("utf-8")
            # The feed carries the markdown body, exactly what the post holds after its front
            # matter, which is the clean post's.
            assert row["post"] == post and post.endswith(row["body"])
            assert is_markdown_content(row["body"]) and "<" not in row["body"]
            assert _front(post) == _front(clean[row["url"]].post.decode("utf-8"))
            assert post == _front(post) + row["body"]
            assert row["images"] == list(clean[row["url"]].images)
            assert MARKDOWN_IMAGE.findall(row["body"]) == [
                html.unescape(u)
                for u in re.findall(r'<img\b[^>]*?\ssrc="([^"]*)"', clean[row["url"]].body)
            ]
        # A second run finds nothing new and leaves every post as it is.
        again = run_crawl(server.base_url, archive, ARCHIVE_BODY="markdown")
        assert again.returncode == 0, again.stderr[-3000:]
        assert again.stats.get("archive/written", 0) == 0
        assert posts_under(archive) == posts

    load = load_hexo_posts(archive, tmp_path / "site")
    assert load.errors == [] and load.missing == []
    assert sorted(p.title for p in load.posts) == sorted(g.meta["title"] for g in GOLDENS)
    for post in load.posts:
        assert "<pre" not in post.content and "<code" not in post.content, post.source
        assert not re.search(r"&lt;/?[a-zA-Z]", post.content), post.source
        assert "<p>" in post.content


def test_markdown_posts_with_local_pictures_show_the_site_copies(tmp_path):
    blog = tmp_path / "blog" / "source"
    with MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, golden_pictures(CLEAN))
        result = run_crawl(
            server.base_url,
            blog / "_posts",
            "-a",
            "pages=1",
            ARCHIVE_IMAGES="local",
            ARCHIVE_BODY="markdown",
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stats["images/stored"] > 0
    shown = 0
    for name, post in posts_under(blog / "_posts").items():
        text = post.decode("utf-8")
        head = re.search(r"^headimg: '(.*)'$", text, re.M)
        assert head is not None
        for src in [*MARKDOWN_IMAGE.findall(text), *([head.group(1)] if head.group(1) else [])]:
            assert src.startswith("/images/"), (name, src)
            assert (blog / src.lstrip("/")).is_file(), (name, src)
            shown += 1
    assert shown > len(GOLDENS)
    public = generate_hexo_site(blog / "_posts", blog / "images", tmp_path / "site")
    pages = post_pages(public)
    sources = picture_sources(pages)
    assert len(sources) > len(GOLDENS)
    for src in sources:
        assert src.startswith("/images/"), src
        assert (public / src.lstrip("/")).is_file(), src
