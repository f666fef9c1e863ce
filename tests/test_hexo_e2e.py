"""The crawled archive, loaded by a real Hexo 8 site (tests/hexo, `npm ci --prefix tests/hexo`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from utils.content import GOLDEN, GOLDENS
from utils.crawl import run_crawl
from utils.hexo_site import generate_hexo_site, load_hexo_posts, picture_sources, post_pages
from utils.items import CLEAN
from utils.mocksina import MockSina
from utils.pictures import golden_pictures, serve_pictures

pytestmark = [pytest.mark.e2e, pytest.mark.hexo]

CATEGORIES = ["金融", "新浪财经", "新浪财经－国內"]
HOSTILE_TITLES = [
    "../“注意”: <b>粗体</b> {{ x }} {% raw %} 100% [ok] #1",
    "It's 'quoted' \\ and \"double\"",
    "_下划线开头",
    ".点开头",
]


def crawl_for_hexo(tmp_path, mode):
    """The golden articles plus hostile titles, crawled in ``mode``; returns (archive, expected)."""
    golden = GOLDENS[2]
    base = golden.item["url"].rsplit("/", 1)[0]
    expected = {g.meta["title"]: int(g.meta["intime"]) for g in GOLDENS}
    with MockSina() as server:
        items = []
        for g in GOLDENS:
            server.add_page(g.meta["url"], g.page)
            items.append(g.item)
        for index, title in enumerate(HOSTILE_TITLES):
            url = f"{base}/doc-ihostile{index:06d}.shtml"
            server.add_page(url, golden.page)
            intime = 1650000000 + index
            items.append(
                {
                    **golden.item,
                    "url": url,
                    "title": title,
                    "intime": str(intime),
                    "docid": f"comos:hostile{index:06d}",
                }
            )
            expected[title] = intime
        server.set_roll(155, 1686, items)
        archive = tmp_path / f"archive-{mode}"
        result = run_crawl(server.base_url, archive, ARCHIVE_BODY=mode)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stats["archive/written"] == len(expected)
    return archive, expected


@pytest.mark.parametrize("mode", ["clean", "verbatim"])
def test_every_post_loads_in_hexo_with_its_front_matter(tmp_path, mode):
    archive, expected = crawl_for_hexo(tmp_path, mode)
    load = load_hexo_posts(archive, tmp_path / f"site-{mode}")
    assert load.missing == []
    assert load.errors == []
    loaded = {post.title: post for post in load.posts}
    assert sorted(loaded) == sorted(expected)
    for title, intime in expected.items():
        post = loaded[title]
        assert post.date == datetime.fromtimestamp(intime, UTC)
        assert post.categories == CATEGORIES
        assert post.comments is False


def test_clean_posts_render_without_artifacts(tmp_path):
    archive, _ = crawl_for_hexo(tmp_path, "clean")
    load = load_hexo_posts(archive, tmp_path / "site")
    assert load.posts
    for post in load.posts:
        html = post.content
        assert "<pre" not in html and "<code" not in html, post.source
        assert not re.search(r"&lt;/?[a-zA-Z]", html), post.source
        assert "&amp;#12" not in html, post.source  # braces were not double-escaped
        assert "<p>" in html
    # Every article picture is shown (the QR codes are not).
    by_title = {post.title: post.content for post in load.posts}
    for golden in GOLDENS:
        pictures = len(re.findall(r'class="img_wrapper"><img', golden.page))
        assert by_title[golden.meta["title"]].count("<img ") == pictures, golden.slug


def test_verbatim_posts_render_like_the_old_archive(tmp_path):
    """The old archive's bodies indent their QR block, so Markdown shows it as code: verbatim
    mode keeps that, which is why clean mode is the default."""
    archive, _ = crawl_for_hexo(tmp_path, "verbatim")
    load = load_hexo_posts(archive, tmp_path / "site")
    golden_titles = {g.meta["title"] for g in GOLDENS}
    rendered = [p.content for p in load.posts if p.title in golden_titles]
    assert len(rendered) == len(GOLDENS)
    assert any("<pre><code>" in html for html in rendered)


def test_a_local_pictures_archive_generates_pages_whose_pictures_are_in_the_site(tmp_path):
    blog = tmp_path / "blog" / "source"
    with MockSina.from_golden(GOLDEN) as server:
        serve_pictures(server, golden_pictures(CLEAN))
        result = run_crawl(
            server.base_url, blog / "_posts", "-a", "pages=1", ARCHIVE_IMAGES="local"
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stats["images/stored"] > 0
    public = generate_hexo_site(blog / "_posts", blog / "images", tmp_path / "site")
    pages = post_pages(public)
    assert len(pages) >= len(GOLDENS)
    sources = picture_sources(pages)
    assert len(sources) > len(GOLDENS)
    for src in sources:
        assert src.startswith("/images/"), src
        assert (public / src.lstrip("/")).is_file(), src
