"""Extraction on the golden pages (finance template) and on edge cases."""

import asyncio
from datetime import UTC, datetime

import pytest
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from newsspider.sina import article
from newsspider.sina.article import page_root, parse_article, read_article
from newsspider.workers import WorkerPool

from utils.content import DATA, GOLDENS

# The real saved pages, this template's among them, are checked in test_templates.py.


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_golden_pages(golden):
    page = parse_article(Selector(text=golden.page))
    assert page.title == golden.meta["title"]
    assert page.published_at == datetime.fromtimestamp(golden.meta["intime"], UTC)
    assert page.displayed_at is not None
    assert page.displayed_at.replace(second=0) == page.published_at.replace(second=0)
    assert page.source == golden.meta["media_name"]
    assert page.body_html is not None
    assert page.body_html.lstrip().startswith("<")


def test_missing_parts_are_none():
    page = parse_article(Selector(text="<html><body><p>nothing here</p></body></html>"))
    assert page.title is None
    assert page.published_at is None
    assert page.displayed_at is None
    assert page.source is None
    assert page.body_html is None


def test_meta_fallbacks():
    html = """<html><head>
    <meta property="og:title" content="  元标题  ">
    <meta property="article:published_time" content="2021-12-13T15:34:10+08:00">
    <meta name="article:author" content="新华社">
    </head><body><div id="artibody"><p>正文</p></div></body></html>"""
    page = parse_article(Selector(text=html))
    assert page.title == "元标题"
    assert page.source == "新华社"
    assert page.published_at == datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC)
    assert page.body_html == "<p>正文</p>"


def test_truncated_page_still_extracts_what_is_there():
    golden = GOLDENS[2]
    cut = golden.page[: golden.page.index("<!-- 原始正文end -->") - 2000]
    page = parse_article(Selector(text=cut))
    assert page.title == golden.meta["title"]
    assert page.body_html is not None and "<p" in page.body_html


EDGE_PAGE = """<html><body>
<div class="x\tdate-source  y"><span class="date">2024年01月02日 03:04</span></div>
<p class="date-sources">not it</p>
<p class="xdate-source date-sourcex">nor it</p>
<p class="date-sourcedate-source">nor it</p>
<p class="xdate-source\ndate-source\r">but this</p>
<div id="artibody"><p>first</p></div>
<div id="artibody"><p>second</p></div>
<div class="time-source">2016年05月25日10:10 来源</div>
<meta content="x"><meta property="og:title" content="  体内  "><META NAME="a" CONTENT="b">
<meta property="og:title" content="second"><meta name="c"><meta property="" content="d">
</body></html>"""
SAVED = sorted(DATA.parent.rglob("*.html"))
PAGES = [*(path.read_text(encoding="utf-8") for path in SAVED), EDGE_PAGE]
PAGE_IDS = [*(path.stem[:40] for path in SAVED), "edge"]


@pytest.mark.parametrize("html", PAGES, ids=PAGE_IDS)
@pytest.mark.parametrize("css", ["#artibody", "#article", ".date-source", ".time-source"])
def test_fast_document_queries_find_what_the_css_finds(html, css):
    """The ID-table and class-attribute forms used for whole-page queries find what the
    translated CSS finds: every match for a class (odd whitespace in class lists included), the
    first match for an id (duplicate ids included: only the first body container is used)."""
    root = page_root(html)
    by_css = root.xpath(HTMLTranslator().css_to_xpath(css))
    found = article._select(root, css)
    if css.startswith("#"):
        assert found[:1] == by_css[:1]
    else:
        assert found == by_css
    assert article._has(root, css) == bool(by_css)


def _meta_map_by_xpath(root):
    found = {}
    for meta in root.xpath("//meta[@content]"):
        value = (meta.get("content") or "").strip()
        for key in (meta.get("property"), meta.get("name")):
            if key and key not in found and value:
                found[key] = value
    return found


@pytest.mark.parametrize("html", PAGES, ids=PAGE_IDS)
def test_meta_tags_are_those_of_the_whole_document(html):
    root = page_root(html)
    assert article._meta_map(root) == _meta_map_by_xpath(root)
    assert list(article._meta_map(root)) == list(_meta_map_by_xpath(root))


def _nested(levels):
    return "<html><body>" + "<div>" * levels + "<p>" + "深" * 300 + "</p></body></html>"


def test_a_page_too_deep_to_parse_whole_raises():
    """libxml2 stops at 2048 levels even with huge_tree and drops the rest without raising;
    the page must not come out as an empty or cut-off article."""
    with pytest.raises(article.PageTooDeep, match="too deep"):
        page_root(_nested(3000))
    with pytest.raises(article.PageTooDeep):
        read_article(_nested(3000).encode("utf-8"), "utf-8")


def test_a_deep_page_within_the_limit_keeps_its_text():
    assert "深" * 300 in "".join(page_root(_nested(2000)).itertext())
    page_root("<p>ok</p>")  # the parser's log of the deep page is not carried over


def test_too_deep_reaches_the_crawl_from_a_worker_process():
    async def main():
        pool = WorkerPool(1)
        try:
            await pool.run(read_article, _nested(3000).encode("utf-8"), "utf-8")
        finally:
            await pool.close()

    with pytest.raises(article.PageTooDeep, match="too deep"):
        asyncio.run(main())
