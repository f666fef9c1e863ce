"""Post bodies: verbatim (the golden bytes) and clean (renders properly, nothing hostile)."""

import re

import pytest
from parsel import Selector

from newsspider.archive.body import BodyMode, escape_braces, post_content, render_body
from newsspider.sina.article import parse_article

from conftest import GOLDENS

BASE = "https://finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml"


def golden_body(golden):
    return parse_article(Selector(text=golden.page)).body_html


def expected_content(golden):
    text = golden.expected.decode()
    return text[text.index("\n---\n", 1) + len("\n---\n") :]


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_verbatim_reproduces_the_archive(golden):
    rendered = render_body(golden_body(golden), golden.meta["url"], BodyMode.VERBATIM)
    assert rendered is not None
    assert post_content(rendered.html, BodyMode.VERBATIM) == expected_content(golden)
    headimg = re.search(r"^headimg: '(.*)'$", golden.expected.decode(), re.M).group(1)
    assert rendered.headimg == headimg


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_clean_keeps_the_article_and_drops_the_rest(golden):
    body_html = golden_body(golden)
    clean = render_body(body_html, golden.meta["url"], BodyMode.CLEAN)
    verbatim = render_body(body_html, golden.meta["url"], BodyMode.VERBATIM)
    assert clean is not None and verbatim is not None
    html = clean.html
    assert clean.headimg == verbatim.headimg  # one front matter for both modes
    for banned in ("<script", "<style", "<!--", "<iframe", "appendQr", "app-kaihu-qr", " on"):
        assert banned not in html
    assert "javascript:" not in html
    assert "{" not in html and "}" not in html
    for line in html.splitlines():
        assert line == line.lstrip(" \t"), f"indented line: {line!r}"
        assert line.strip(), "blank line inside the body"
    # Text, pictures, links and the editor line survive.
    source = Selector(text=body_html)
    editor = source.css("p.article-editor::text").get()
    assert editor is not None and editor.strip() in html
    article_imgs = [img for img in source.css(".img_wrapper img::attr(src)").getall()]
    for src in article_imgs:
        assert "https:" + src in html
    first_p = source.xpath("//p[normalize-space()][1]//text()").get().strip()
    assert first_p[:20] in html
    for href in source.css("a::attr(href)").getall():
        assert href in html


def test_verbatim_rules_on_hostile_markup():
    body = (
        '  <!-- lead --><style>.x{a:b}</style>\n<p class="">a &amp; b &lt;c&gt; &nbsp;x</p>'
        '<script>alert("{x}")</script>tail<br/><img src="//n.sinaimg.cn/a.jpg" alt="">'
        '<a href="/b?x=1&amp;y=2" title=\'say "hi"\'>link</a>'
    )
    rendered = render_body(body, BASE, BodyMode.VERBATIM)
    assert rendered is not None
    assert rendered.html == (
        "<p class>a & b <c> \u00a0x</p>tail<br>"
        '<img src="https://n.sinaimg.cn/a.jpg" alt referrerpolicy="no-referrer">'
        '<a href="https://finance.sina.com.cn/b?x=1&y=2" title="say &quot;hi&quot;">link</a>'
    )
    assert rendered.headimg == "https://n.sinaimg.cn/a.jpg"


def test_verbatim_keeps_comments_after_the_first_element_and_escapes_braces():
    rendered = render_body("<p>{x}</p><!-- {c} --><style>a{b:c}</style>", BASE, BodyMode.VERBATIM)
    assert rendered is not None
    assert (
        rendered.html == "<p>&#123;x&#125;</p><!-- &#123;c&#125; --><style>a&#123;b:c&#125;</style>"
    )


def test_leading_text_is_kept_without_its_leading_whitespace():
    rendered = render_body("\n  lead <b>x</b>", BASE, BodyMode.VERBATIM)
    assert rendered is not None
    assert rendered.html == "lead <b>x</b>"


def test_clean_sanitizes_hostile_markup():
    body = (
        '<p onclick="steal()">text<img src="x.jpg" onerror="alert(1)"></p>'
        '<a href="javascript:alert(1)">bad</a><a href="/ok">ok</a>'
        '<iframe src="https://evil.example"></iframe><form><input value=1></form>'
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
        '<div class="appendQr_wrap"><img src="qr.png"></div>'
        "<pre>    code-like</pre>\n\n\n        <p>indented</p>"
    )
    rendered = render_body(body, BASE, BodyMode.CLEAN)
    assert rendered is not None
    html = rendered.html
    assert "onclick" not in html and "onerror" not in html
    assert "javascript:" not in html
    assert "<iframe" not in html and "<form" not in html and "<input" not in html
    assert "qr.png" not in html
    assert "&lt;script&gt;" in html and "<script" not in html
    assert '<img src="https://finance.sina.com.cn/china/2021-12-13/x.jpg"' in html
    assert 'href="https://finance.sina.com.cn/ok"' in html
    assert "\n<p>indented</p>" in html
    assert rendered.headimg == "https://finance.sina.com.cn/china/2021-12-13/x.jpg"


@pytest.mark.parametrize(
    "body",
    ["", "   \n ", "<!-- only a comment -->", "<script>var a = 1;</script>", "<style>p{}</style>"],
)
@pytest.mark.parametrize("mode", list(BodyMode))
def test_empty_bodies_are_none(body, mode):
    assert render_body(body, BASE, mode) is None


def test_a_picture_alone_is_content():
    assert render_body('<img src="//n.sinaimg.cn/a.jpg">', BASE, BodyMode.CLEAN) is not None


def test_escape_braces():
    assert escape_braces("{{ x }}{% y %}") == "&#123;&#123; x &#125;&#125;&#123;% y %&#125;"


def test_post_content_wrappers():
    assert post_content("B", BodyMode.VERBATIM) == "\n<div>   \nB  \n</div>\n            "
    assert post_content("B", BodyMode.CLEAN) == "\n<div>\nB\n</div>\n"
