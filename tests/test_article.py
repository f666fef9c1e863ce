"""Extraction on the golden pages and on the real pages of the current finance template."""

import json
from datetime import UTC, datetime

import pytest
from parsel import Selector

from newsspider.sina.article import parse_article

from conftest import DATA, GOLDENS

REAL_FINANCE_PAGES = ["finance_roll_doc-ihqfskcn2160999_2018_gne-rendered"]


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_golden_pages(golden):
    page = parse_article(Selector(text=golden.page))
    assert page.title == golden.meta["title"]
    assert page.canonical_url == golden.meta["url"]
    assert page.published_at == datetime.fromtimestamp(golden.meta["intime"], UTC)
    assert page.displayed_at is not None
    assert page.displayed_at.replace(second=0) == page.published_at.replace(second=0)
    assert page.source == golden.meta["media_name"]
    assert page.body_html is not None
    assert page.body_html.lstrip().startswith("<")


def _paragraphs(body_html, excluded):
    sel = Selector(text=f"<div id='x'>{body_html}</div>")
    texts = []
    for p in sel.css("#x p"):
        if any(p.css(css) or p.root.get("class") == css.removeprefix("p.") for css in excluded):
            continue
        text = "".join(
            p.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall()
        )
        text = text.strip(" \t\r\n\u3000\u00a0")
        if text:
            texts.append(text)
    return texts


@pytest.mark.parametrize("name", REAL_FINANCE_PAGES)
def test_real_finance_pages(name):
    folder = DATA / "pages" / name
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    html = (folder / expected["file"]).read_text(encoding="utf-8")
    page = parse_article(Selector(text=html))
    assert page.title == expected["title"]
    assert page.published_at == datetime.fromisoformat(expected["published_at"])
    assert page.displayed_at == datetime.fromisoformat(expected["displayed_at"])
    assert page.source == expected["source"]
    assert page.canonical_url == expected["canonical_url"]
    assert page.body_html is not None
    paragraphs = _paragraphs(page.body_html, ["p.article-editor"])
    assert paragraphs[0] == expected["first_paragraph"]
    assert paragraphs[-1] == expected["last_paragraph"]
    assert len(paragraphs) == expected["paragraph_count"]


def test_missing_parts_are_none():
    page = parse_article(Selector(text="<html><body><p>nothing here</p></body></html>"))
    assert page.title is None
    assert page.published_at is None
    assert page.displayed_at is None
    assert page.source is None
    assert page.canonical_url is None
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
