"""Post bodies: verbatim (the golden bytes) and clean (renders properly, nothing hostile)."""

import json
import re
from urllib.parse import urljoin

import pytest
from lxml import etree
from parsel import Selector

from newsspider.archive.body import BodyMode, escape_braces, post_content, render_body
from newsspider.sina.article import parse_article

from utils.content import DATA, GOLDENS

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


# The saved pages (tests/data/sina/pages) beside the goldens: (id, body HTML, page URL).
SAVED_PAGES = [
    (
        folder.name,
        parse_article(
            Selector(text=(folder / f"{folder.name}.html").read_text(encoding="utf-8"))
        ).body_html,
        json.loads((folder / "expected.json").read_text(encoding="utf-8"))["canonical_url"],
    )
    for folder in sorted((DATA / "pages").iterdir())
]
ALL_BODIES = [(g.slug, golden_body(g), g.meta["url"]) for g in GOLDENS] + SAVED_PAGES

# What the saved pages hold that is not the article, named here independently of body.py:
# the QR codes, the quote widget, the 股吧 link, the hidden WeChat share picture, the ad box.
JUNK_CLASSES = {"appendQr_wrap", "app-kaihu-qr", "ct_hqimg"}
JUNK_IDS = {"wx_pic", "ad_44086"}


def is_junk(element):
    for node in element.iterancestors():
        classes = set((node.get("class") or "").split())
        if classes & JUNK_CLASSES or node.get("id") in JUNK_IDS:
            return True
        if node.get("data-sudaclick") == "suda_1028_guba":
            return True
    return False


def words(text):
    return " ".join(text.split())


def clean_tree(html):
    return etree.fromstring(f"<html><body>{html}</body></html>", etree.HTMLParser())


def kept_pictures(html):
    return [img.get("src") for img in clean_tree(html).iter("img") if img.get("src")]


@pytest.mark.parametrize(("slug", "body_html", "url"), ALL_BODIES, ids=[b[0] for b in ALL_BODIES])
def test_clean_loses_nothing_the_article_says(slug, body_html, url):
    """Every paragraph, table cell and picture of the article is in the clean body."""
    clean = render_body(body_html, url, BodyMode.CLEAN)
    assert clean is not None
    clean_text = words("".join(clean_tree(clean.html).itertext()))
    source = Selector(text=body_html).root
    checked = 0
    for element in source.iter("p", "td", "th"):
        text = words("".join(element.itertext()))
        if text and not is_junk(element):
            assert text in clean_text, f"{slug}: lost {text[:40]!r}"
            checked += 1
    assert checked
    pictures = set(kept_pictures(clean.html))
    for img in source.iter("img"):
        if not is_junk(img):
            assert urljoin(url, img.get("src").strip()) in pictures, slug


# The pages where the first picture of the full body is one clean mode removes.
REMOVED_HEADIMGS = {
    "20220516_cpi_short_noimg": "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png",
    "finance_money_forex_doc-ifxsktkp9337164_2016_raw": (
        "http://image.sinajs.cn/newchart/v5/forex/k/day6/USDCNH.png"
    ),
    "finance_sina_cn_mobile_detail-ikknscsi2623250_raw": (
        "https://n.sinaimg.cn/default/2fb77759/20151125/320X320.png"
    ),
}


@pytest.mark.parametrize(("slug", "body_html", "url"), ALL_BODIES, ids=[b[0] for b in ALL_BODIES])
def test_clean_headimg_is_the_first_picture_the_clean_body_keeps(slug, body_html, url):
    clean = render_body(body_html, url, BodyMode.CLEAN)
    verbatim = render_body(body_html, url, BodyMode.VERBATIM)
    assert clean is not None and verbatim is not None
    kept = kept_pictures(clean.html)
    assert clean.headimg == (kept[0] if kept else "")
    removed = set(kept_pictures(verbatim.html)) - set(kept)
    assert clean.headimg not in removed
    if slug in REMOVED_HEADIMGS:
        assert verbatim.headimg == REMOVED_HEADIMGS[slug]  # the older pipeline's front matter
        assert clean.headimg == ""
    source = Selector(text=body_html)
    article = source.css(".img_wrapper img::attr(src)").get()
    if article is not None and not source.css(".video-2017 img"):
        assert clean.headimg == urljoin(url, article)


ARTICLE = "<p>正文第一段</p>{}<p>正文第二段</p>"
JUNK_PICTURE = '<img src="//n.sinaimg.cn/finance/junk.png">'


@pytest.mark.parametrize(
    ("junk", "marker"),
    [
        pytest.param(
            '<div class="clearfix appendQr_wrap"><div class="appendQr_normal">'
            f"{JUNK_PICTURE}</div><div>海量资讯、精准解读，尽在新浪财经APP</div></div>",
            "新浪财经APP",
            id="appendQr_wrap",
        ),
        pytest.param(
            f'<div class="app-kaihu-qr"><span>炒股开户享福利</span>{JUNK_PICTURE}</div>',
            "开户",
            id="app-kaihu-qr",
        ),
        pytest.param(
            '<div class="ct_hqimg"><div class="hqimg_wrapper"><a href="http://finance.sina.com.cn/'
            f'realstock/company/sz000651/nc.shtml">{JUNK_PICTURE}</a></div>'
            '<a class="hqimg_client" href="http://m.sina.com.cn/m/finance.html">客户端</a></div>',
            "客户端",
            id="ct_hqimg",
        ),
        pytest.param(
            f'<div class="finance_app_zqtg">{JUNK_PICTURE}下载新浪财经APP</div>',
            "APP",
            id="finance_app_zqtg",
        ),
        pytest.param(
            f'<div class="xb_new_finance_app">{JUNK_PICTURE}<p>新浪财经APP</p></div>',
            "APP",
            id="xb_new_finance_app",
        ),
        pytest.param(
            '<div data-sudaclick="suda_1028_guba"><p>进入<a href="http://guba.sina.com.cn" '
            'target="_blank">【新浪财经股吧】</a>讨论</p></div>',
            "股吧",
            id="guba",
        ),
        pytest.param(
            '<div id="ad_44086" class="otherContent_01" style="display: block; width: 300px;">'
            '<ins class="sinaads sinaads-done" data-ad-pdps="PDPS000000044086"><ins style="'
            'display:block"><iframe src="about:blank"></iframe></ins></ins></div>',
            "<div",
            id="otherContent_01",
        ),
        pytest.param(
            f'<ins class="sinaads" data-ad-pdps="PDPS000000044086">{JUNK_PICTURE}</ins>',
            "<ins",
            id="sinaads",
        ),
        pytest.param("<ins></ins>", "<ins", id="empty-ins"),
        pytest.param("<ins> <ins>\u3000</ins><script>ad()</script></ins>", "<ins", id="blank-ins"),
        pytest.param(
            '<div sax-type="proxy" class="j_native_opq240314 box" data-id="201711dingdingeb">'
            "</div>",
            "<div",
            id="sax-slot",
        ),
        pytest.param(
            f'<div id="wx_pic" style="margin:0 auto;display:none;">{JUNK_PICTURE}</div>',
            "junk",
            id="display-none",
        ),
        pytest.param(
            f'<div style="DISPLAY : None !important">{JUNK_PICTURE}分享到微信</div>',
            "分享",
            id="display-none-important",
        ),
        pytest.param(
            f'<span style="position:absolute;width:0;visibility:hidden">{JUNK_PICTURE}</span>',
            "junk",
            id="visibility-hidden",
        ),
        pytest.param(f"<div hidden>{JUNK_PICTURE}分享</div>", "分享", id="hidden-attribute"),
        pytest.param(f'<p hidden="hidden">{JUNK_PICTURE}分享</p>', "分享", id="hidden-value"),
        pytest.param(f"<xmp><b>raw</b>{JUNK_PICTURE}</xmp>", "raw", id="xmp"),
        pytest.param(f"<noembed>{JUNK_PICTURE}raw</noembed>", "raw", id="noembed"),
        pytest.param(f"<noframes><p>raw</p>{JUNK_PICTURE}</noframes>", "raw", id="noframes"),
    ],
)
def test_clean_removes_what_is_not_the_article(junk, marker):
    rendered = render_body(ARTICLE.format(junk), BASE, BodyMode.CLEAN)
    assert rendered is not None
    assert rendered.html == "<p>正文第一段</p><p>正文第二段</p>"
    assert marker not in rendered.html
    assert rendered.headimg == ""  # never the removed picture


def test_clean_removes_plaintext_and_what_it_swallows():
    body = f"<p>正文</p><plaintext><b>raw</b>{JUNK_PICTURE}<p>swallowed</p>"
    rendered = render_body(body, BASE, BodyMode.CLEAN)
    assert rendered is not None
    assert rendered.html == "<p>正文</p>"
    assert rendered.headimg == ""


@pytest.mark.parametrize(
    ("markup", "kept"),
    [
        pytest.param("<ins>补充说明</ins>", "<ins>补充说明</ins>", id="ins-with-text"),
        pytest.param(
            '<ins><img src="//n.sinaimg.cn/a.jpg"></ins>', "<ins><img", id="ins-with-picture"
        ),
        pytest.param('<p hidden="until-found">折叠的段落</p>', "折叠的段落", id="until-found"),
        pytest.param('<div style="display:block">块</div>', "块", id="display-block"),
        pytest.param('<p style="border: none; overflow: hidden">边框</p>', "边框", id="not-hiding"),
        pytest.param('<span style="visibility: visible">可见</span>', "可见", id="visible"),
        pytest.param('<p class="article-editor">责任编辑：李园</p>', "责任编辑", id="editor"),
        pytest.param(
            '<div data-sudaclick="content_marketkeywords_p">关键词</div>', "关键词", id="sudaclick"
        ),
    ],
)
def test_clean_keeps_article_markup_that_looks_like_junk(markup, kept):
    rendered = render_body(ARTICLE.format(markup), BASE, BodyMode.CLEAN)
    assert rendered is not None
    assert kept in rendered.html
    assert "正文第一段" in rendered.html and "正文第二段" in rendered.html


def test_hidden_text_keeps_the_text_that_follows_it():
    rendered = render_body('<p>前<span style="display:none">藏</span>后</p>', BASE, BodyMode.CLEAN)
    assert rendered is not None
    assert rendered.html == "<p>前后</p>"


@pytest.mark.parametrize(
    ("body", "headimg"),
    [
        pytest.param(
            f'<div class="appendQr_wrap">{JUNK_PICTURE}</div><img src="/a.jpg">',
            "https://finance.sina.com.cn/a.jpg",
            id="after-a-qr-code",
        ),
        pytest.param(
            '<img src="data:image/gif;base64,R0lGOD"><img src="javascript:x()">'
            '<img src="//n.sinaimg.cn/a.jpg?x=1&amp;y=2">',
            "https://n.sinaimg.cn/a.jpg?x=1&y=2",
            id="after-pictures-nh3-drops",
        ),
        pytest.param(
            '<img alt="a &quot;q&quot; > src=&quot;no&quot;" src="/b.jpg">',
            "https://finance.sina.com.cn/b.jpg",
            id="attributes-before-src",
        ),
        pytest.param("<p>&lt;img src=&quot;/text.jpg&quot;&gt;</p>", "", id="text-is-no-picture"),
        pytest.param(f"<p>正文</p><div hidden>{JUNK_PICTURE}</div>", "", id="none-kept"),
    ],
)
def test_clean_headimg_on_fragments(body, headimg):
    rendered = render_body(body, BASE, BodyMode.CLEAN)
    assert rendered is not None
    assert rendered.headimg == headimg


@pytest.mark.parametrize("depth", [300, 1500])
@pytest.mark.parametrize("mode", list(BodyMode))
def test_deeply_nested_bodies_are_not_cut_off(depth, mode):
    """The fragment parser takes what the page parser takes (huge_tree); verbatim mode writes it
    without recursion."""
    body = "<p>前</p>" + "<div>" * depth + "<p>深处</p>" + "</div>" * depth + "<p>后</p>"
    rendered = render_body(body, BASE, mode)
    assert rendered is not None
    if mode is BodyMode.MARKDOWN:
        assert rendered.html == "前\n\n深处\n\n后"
        return
    assert "深处" in rendered.html and "<p>后</p>" in rendered.html
    if mode is BodyMode.VERBATIM:
        assert rendered.html == body
