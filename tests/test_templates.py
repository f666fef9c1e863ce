"""Template detection and extraction on every saved Sina page; the meta and generic fallbacks."""

import json
import warnings
from datetime import datetime

import pytest
from parsel import Selector

from newsspider.sina import article
from newsspider.sina.article import TEMPLATES, detect_template, parse_article

from utils.content import DATA, GOLDENS

PAGES = sorted(p for p in (DATA / "pages").iterdir() if p.is_dir())
BLOG = DATA / "templates" / "blog_generic.html"

# expected.json names templates by the README's letters; the extractor by site.
TEMPLATE_OF_LETTER = {"A": "finance", "A-news": "news", "B": "legacy", "C": "mobile"}

LONG_TEXT = "".join(
    f"<p>第{i}段：城市有轨电车的建设和运营困局，国内其他城市此前已暴露数次，原因是综合的。</p>"
    for i in range(1, 6)
)


def _load(folder):
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    html = (folder / expected["file"]).read_text(encoding="utf-8")
    return expected, html


def _selector_of(entry):
    """``excluded`` entries are a CSS selector, optionally followed by `` (why)``."""
    return entry.split(" (", 1)[0].strip()


def _paragraphs(body_html, excluded):
    """README rules: text of each ``<p>`` with text, outside what ``excluded`` selects, trimmed."""
    container = Selector(text=f"<div id='x'>{body_html}</div>").css("#x")[0]
    skipped = [found.root for entry in excluded for found in container.css(_selector_of(entry))]
    texts = []
    for p in container.css("p"):
        if any(node in skipped for node in [p.root, *p.root.iterancestors()]):
            continue
        text = "".join(
            p.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall()
        )
        text = text.strip(" \t\r\n\u3000\u00a0")
        if text:
            texts.append(text)
    return texts


@pytest.mark.parametrize("folder", PAGES, ids=lambda p: p.name)
def test_saved_pages(folder):
    expected, html = _load(folder)
    page = parse_article(Selector(text=html))
    letter = expected["template"].split(":", 1)[0].split()[0]
    assert page.template == TEMPLATE_OF_LETTER[letter]
    assert page.title == expected["title"]
    assert page.published_at == datetime.fromisoformat(expected["published_at"])
    assert page.displayed_at == datetime.fromisoformat(expected["displayed_at"])
    assert page.source == expected["source"]
    assert page.body_html is not None
    paragraphs = _paragraphs(page.body_html, expected["excluded"])
    assert paragraphs[0] == expected["first_paragraph"]
    assert paragraphs[-1] == expected["last_paragraph"]
    assert len(paragraphs) == expected["paragraph_count"]
    body = Selector(text=f"<div id='x'>{page.body_html}</div>")
    assert len(body.css("#x img")) == expected["img_count"]
    assert len(body.css("#x div.img_wrapper img")) == expected["article_img_count"]


@pytest.mark.parametrize("folder", PAGES, ids=lambda p: p.name)
def test_body_is_the_selected_container(folder):
    expected, html = _load(folder)
    sel = Selector(text=html)
    container = sel.css(expected["body_selector"])[0]
    assert parse_article(sel).body_html == article.inner_html(container.root)


def _with_date_source(html, spans):
    original = '<span class="date">2024年05月10日 00:26</span>'
    assert html.count(original) == 1
    return html.replace(original, spans)


@pytest.mark.parametrize(
    "spans",
    [
        '<span class="date">2024年05月10日 00:26</span><span class="date">作者：李华</span>',
        '<span class="date">作者：李华</span><span class="date">2024年05月10日 00:26</span>',
    ],
    ids=["author-after", "author-before"],
)
def test_news_author_in_a_second_date_span(spans):
    folder = DATA / "pages" / "news_c_doc-inausehc2630922_2024_rendered"
    expected, html = _load(folder)
    page = parse_article(Selector(text=_with_date_source(html, spans)))
    assert page.template == "news"
    assert page.displayed_at == datetime.fromisoformat(expected["displayed_at"])
    assert page.source == expected["source"]


def test_news_author_line_is_not_the_source():
    html = """<html><head><meta name="article:author" content="新华社"></head><body>
    <h1 class="main-title">标题</h1>
    <div class="date-source"><span class="date">2019年11月25日 18:57</span></div>
    <div id="article"><p>正文</p><p class="show_author">责任编辑：张迪</p></div>
    </body></html>"""
    page = parse_article(Selector(text=html))
    assert page.template == "news"
    assert page.source == "新华社"
    assert (
        page.published_at
        == page.displayed_at
        == datetime.fromisoformat("2019-11-25T18:57:00+08:00")
    )


@pytest.mark.parametrize(
    ("html", "template"),
    [
        ('<h1 class="main-title">t</h1><div id="artibody"><p>x</p></div>', "finance"),
        (
            '<h1 class="main-title">t</h1><span class="time-source">2016年05月25日10:10</span>'
            '<div id="artibody"><p>x</p></div>',
            "finance",
        ),
        ('<div id="artibody"><p>x</p></div>', "finance"),
        ('<h1 id="artibodyTitle">t</h1><div id="artibody"><p>x</p></div>', "legacy"),
        ('<span id="pub_date">2014年03月04日</span><div id="artibody"></div>', "legacy"),
        ('<h1 class="main-title">t</h1><div id="article"><p>x</p></div>', "news"),
        ('<div class="date-source"></div><div id="article"><p>x</p></div>', "news"),
        ('<h1 class="art_tit_h1">t</h1>', "mobile"),
        ('<section class="art_pic_card art_content"><p>x</p></section>', "mobile"),
        ('<h1 class="main-title">t</h1><div class="date-source"></div>', "finance"),
        ('<h1 id="artibodyTitle">t</h1><span class="time-source"></span>', "legacy"),
        ('<div id="article"><p>x</p></div>', "generic"),
        ('<section class="art_content"><p>x</p></section>', "generic"),
        ("<h1>t</h1><p>x</p>", "generic"),
    ],
)
def test_detection_order(html, template):
    sel = Selector(text=f"<html><body>{html}</body></html>")
    assert detect_template(sel) == template
    assert parse_article(sel).template == template


@pytest.mark.parametrize(
    ("renamed", "template"),
    [
        (['id="artibody"'], "finance"),
        (['id="artibody"', 'class="main-title"'], "meta"),
    ],
    ids=["no-body", "no-sina-markup"],
)
def test_golden_page_without_its_markup(renamed, template):
    """A Sina page that lost its body container is broken, not generic: it keeps no body."""
    golden = GOLDENS[2]
    html = golden.page
    for markup in renamed:
        html = html.replace(markup, 'id="nothing"')
    page = parse_article(Selector(text=html))
    assert page.template == template
    assert page.title == golden.meta["title"]
    assert page.published_at == parse_article(Selector(text=golden.page)).published_at
    if template == "finance":
        assert page.body_html is None
    else:  # only the meta tags and the text are left: the generic extractor finds the text
        assert page.body_html is not None
        assert "<p" in page.body_html


def test_sina_headline_without_container_has_no_body():
    for head in ('<h1 class="main-title">标题</h1>', '<h1 class="art_tit_h1">标题</h1>'):
        page = parse_article(Selector(text=f"<html><body>{head}{LONG_TEXT}</body></html>"))
        assert page.template in {"finance", "mobile"}
        assert page.title == "标题"
        assert page.body_html is None


def test_legacy_pub_date_and_media_name():
    html = """<html><body>
    <h1 id="artibodyTitle"> 旧版  标题 </h1>
    <span id="pub_date">2014年03月04日 07:05</span>
    <span id="media_name"><a href="http://www.cs.com.cn/">中国证券报</a>&nbsp;</span>
    <div id="artibody"><p>正文</p></div>
    </body></html>"""
    page = parse_article(Selector(text=html))
    assert page.template == "legacy"
    assert page.title == "旧版 标题"
    assert page.displayed_at == datetime.fromisoformat("2014-03-04T07:05:00+08:00")
    assert page.published_at == page.displayed_at
    assert page.source == "中国证券报"
    assert page.body_html == "<p>正文</p>"


def test_legacy_source_inside_a_link():
    html = """<html><body><h1 id="artibodyTitle">标题</h1>
    <span class="time-source">2015年06月03日 07:00
      <span data-sudaclick="media_name"><a href="http://www.cnstock.com/">中国证券网</a></span>
    </span><div id="artibody"><p>正文</p></div></body></html>"""
    page = parse_article(Selector(text=html))
    assert page.template == "legacy"
    assert page.displayed_at == datetime.fromisoformat("2015-06-03T07:00:00+08:00")
    assert page.source == "中国证券网"


@pytest.mark.parametrize(
    ("time", "displayed"),
    [
        (
            '<time class="weibo_time" datetime="2021-12-13T15:34:00+08:00">12-13</time>',
            "2021-12-13T15:34:00+08:00",
        ),
        ('<time class="weibo_time">2021.12.13 15:34</time>', "2021-12-13T15:34:00+08:00"),
        ('<time class="weibo_time">今天 15:34</time>', None),
    ],
)
def test_mobile_times(time, displayed):
    html = f"""<html><head>
    <meta property="article:published_time" content="2021-12-13 15:34:10">
    </head><body><h1 class="art_tit_h1">标题</h1><h2 class="weibo_user">新浪财经</h2>{time}
    <section class="art_pic_card art_content"><p class="art_p">正文</p></section></body></html>"""
    page = parse_article(Selector(text=html))
    assert page.template == "mobile"
    assert page.displayed_at == (datetime.fromisoformat(displayed) if displayed else None)
    assert page.published_at == datetime.fromisoformat("2021-12-13T15:34:10+08:00")
    assert page.source == "新浪财经"
    assert page.body_html == '<p class="art_p">正文</p>'


META_HEAD = """<head>
<title>页面标题_新浪网</title>
<meta property="og:type" content="news">
<meta property="og:title" content=" 只有  元数据的文章 ">
<meta property="og:url" content="https://finance.sina.com.cn/china/2021-12-13/doc-ikyakumx1234567.shtml">
<meta property="og:image" content="//n.sinaimg.cn/default/x.png">
<meta property="article:published_time" content="2021-12-13T15:34:10+08:00">
<meta property="article:author" content="新浪财经">
</head>"""


def test_meta_only_page():
    sel = Selector(text=f"<html>{META_HEAD}<body><div id='app'></div></body></html>")
    page = parse_article(sel)
    assert page.template == "meta"
    assert page.title == "只有 元数据的文章"
    assert page.published_at == datetime.fromisoformat("2021-12-13T15:34:10+08:00")
    assert page.displayed_at is None
    assert page.source == "新浪财经"
    assert page.body_html is None


def test_meta_page_takes_the_body_from_the_generic_extractor():
    html = f"""<html>{META_HEAD}<body><div class="nav"><a href="/">首页</a></div>
    <div class="content"><h1>另一个标题</h1>{LONG_TEXT}</div></body></html>"""
    page = parse_article(Selector(text=html))
    assert page.template == "meta"
    assert page.title == "只有 元数据的文章"
    assert page.body_html is not None
    assert _paragraphs(page.body_html, [])[0].startswith("第1段")
    assert _paragraphs(page.body_html, [])[-1].startswith("第5段")


def test_generic_blog_page():
    sel = Selector(text=BLOG.read_text(encoding="utf-8"))
    before = sel.get()
    page = parse_article(sel)
    assert sel.get() == before  # trafilatura worked on a copy
    assert page.template == "generic"
    assert page.title == "Why small tram lines struggle"
    assert page.published_at is None
    assert page.displayed_at is None
    assert page.source is None
    assert page.body_html is not None
    assert not page.body_html.startswith(("<html", "<body", "<doc"))
    paragraphs = _paragraphs(page.body_html, [])
    assert paragraphs[0].startswith("Tram lines built as a single showcase route")
    assert paragraphs[-1].startswith("The lines that work share three traits")
    assert len(paragraphs) == 5
    assert '<a href="https://example.org/maintenance">maintenance budgets</a>' in page.body_html
    assert 'src="/images/tram-depot.jpg"' in page.body_html
    for chrome in ("Recent posts", "All rights reserved", "Great post", "window.analytics"):
        assert chrome not in page.body_html


@pytest.mark.parametrize(
    ("head", "body", "title"),
    [
        ("<title> Tab  title </title>", "<h1> Page  title </h1>", "Page title"),
        ('<title>Tab</title><meta property="og:title" content="OG">', "<h1> </h1>", "OG"),
        ("<title> Tab  title </title>", "<h2>Not a headline</h2>", "Tab title"),
        ("", "<p>text</p>", None),
    ],
)
def test_generic_title(head, body, title):
    page = parse_article(Selector(text=f"<html><head>{head}</head><body>{body}</body></html>"))
    assert page.template == "generic"
    assert page.title == title


def test_generic_short_text_is_no_body():
    page = parse_article(Selector(text="<html><body><p>404 页面不存在</p></body></html>"))
    assert page.template == "generic"
    assert page.body_html is None


def _raise(*args, **kwargs):
    raise RuntimeError("trafilatura broke")


def _warn(*args, **kwargs):
    warnings.warn("noisy", DeprecationWarning, stacklevel=2)
    return "<html><body><p>" + "字" * 100 + "</p></body></html>"


def test_trafilatura_failure_gives_no_body(monkeypatch):
    monkeypatch.setattr("trafilatura.extract", _raise)
    page = parse_article(Selector(text=BLOG.read_text(encoding="utf-8")))
    assert page.template == "generic"
    assert page.title == "Why small tram lines struggle"
    assert page.body_html is None


def test_trafilatura_warnings_stay_inside(monkeypatch):
    monkeypatch.setattr("trafilatura.extract", _warn)
    page = parse_article(Selector(text=BLOG.read_text(encoding="utf-8")))
    assert page.body_html == "<p>" + "字" * 100 + "</p>"


GARBAGE = [
    "",
    "   \n\t",
    "\x00\x01\x02 binary \ufffd\ufffd",
    "<<<>>>",
    "<html><head><title>",
    "<html><body><div id='artibody'>",
    "<html><body><h1 class='main-title'>",
    "<html><body><div id='article'><h1 class='main-title'></h1>",
    "<html><body><section class='art_pic_card art_content'>",
    "<?xml version='1.0'?><rss><item/></rss>",
    "<meta property='article:published_time' content='not a date'>"
    "<meta property='og:title' content=''><span class='date-source'>9999年99月99日</span>",
    "<html><body><span class='time-source'>2016年02月30日 25:61</span><div id='artibody'>",
    "<time class='weibo_time' datetime='garbage'>0000.00.00 99:99</time><h1 class='art_tit_h1'>",
    "<div>" * 3000 + "深" * 300,
    "\x01" * 500 + "<p>" + "字" * 200,
]


@pytest.mark.parametrize("html", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(html):
    page = parse_article(Selector(text=html))
    assert page.template in TEMPLATES


@pytest.mark.parametrize("folder", PAGES, ids=lambda p: p.name)
@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.8])
def test_truncated_pages_never_raise(folder, fraction):
    _, html = _load(folder)
    page = parse_article(Selector(text=html[: int(len(html) * fraction)]))
    assert page.template in TEMPLATES
