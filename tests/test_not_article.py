"""Only articles are archived: what no Sina template reads must look like the article."""

import json
import re

import pytest

from newsspider.post import Rejected, build_post
from newsspider.sina.article import (
    MIN_ARTICLE_CHARS,
    PAGE_KINDS,
    looks_like_article,
    page_root,
    parse_article,
    title_key,
    titles_match,
)

from utils.content import DATA, GOLDENS
from utils.items import CLEAN, fetched

NOT_ARTICLE = DATA / "not_article"
ROLL_TITLE = GOLDENS[2].meta["title"]

# (fixture, what the page shows itself to be)
NON_ARTICLE_PAGES = [
    ("error_not_found.html", "error"),
    ("error_deleted_article.html", "error"),
    ("login_wall.html", "login"),
    ("captcha_wall.html", "captcha"),
    ("channel_front.html", "index"),
]

# Sina markup that picks a template; without it a page is read by meta or generic.
SINA_MARKUP = (
    'id="artibody"',
    'id="article"',
    'class="main-title"',
    "artibodyTitle",
    "art_tit_h1",
    "art_content",
    "date-source",
    "time-source",
    "pub_date",
)
META_TAGS = ('property="og:title"', 'property="article:published_time"')


def without(html, markers):
    for marker in markers:
        html = html.replace(marker, 'data-gone="x"')
    return html


def _real_pages():
    """Every real Sina article page of the fixtures: (name, its title, its HTML)."""
    found = []
    for folder in sorted(p for p in (DATA / "pages").iterdir() if p.is_dir()):
        expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        html = (folder / expected["file"]).read_text(encoding="utf-8")
        found.append((folder.name, expected["title"], html))
    found += [(g.slug, g.meta["title"], g.page) for g in GOLDENS]
    return found


REAL_PAGES = _real_pages()
VARIANTS = {
    "as-served": lambda html: html,
    "meta": lambda html: without(html, SINA_MARKUP),
    "generic": lambda html: without(html, SINA_MARKUP + META_TAGS),
}


def read(html):
    return parse_article(page_root(html))


@pytest.mark.parametrize(("name", "kind"), NON_ARTICLE_PAGES)
def test_non_article_pages_show_what_they_are(name, kind):
    page = read((NOT_ARTICLE / name).read_text(encoding="utf-8"))
    assert page.template == "generic"
    assert page.page_kind == kind
    for expected in (ROLL_TITLE, None):
        assert looks_like_article(page, expected) == f"{PAGE_KINDS[kind]}, not the article"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("name", "title", "html"), REAL_PAGES, ids=[p[0] for p in REAL_PAGES])
def test_real_articles_are_accepted_by_every_template(name, title, html, variant):
    page = read(VARIANTS[variant](html))
    if variant != "as-served":
        assert page.template == variant
        assert page.page_kind is None
        assert (page.text_chars or 0) >= MIN_ARTICLE_CHARS
    assert looks_like_article(page, title) is None  # a roll crawl
    assert looks_like_article(page, None) is None  # -a urls


@pytest.mark.parametrize("variant", ["meta", "generic"])
def test_another_article_is_not_the_one_the_roll_listed(variant):
    page = read(VARIANTS[variant](GOLDENS[0].page))
    why = looks_like_article(page, GOLDENS[1].meta["title"])
    assert why is not None
    assert why.startswith("no title on the page matches the roll's")


def test_too_little_text_is_no_article():
    html = "<html><head><title>标题</title></head><body><h1>标题</h1><p>{}</p></body></html>"
    short = read(html.format("字" * 60))
    assert short.template == "generic"
    assert short.page_kind is None
    why = looks_like_article(short, "标题")
    assert why is not None
    assert re.fullmatch(r"only 6\d characters of text \(fewer than 100\)", why)  # 60 and the h1
    assert looks_like_article(read(html.format("字" * 120)), "标题") is None


def test_urls_mode_needs_a_title_of_the_page():
    text = "".join(
        f"<p>第{i}段，正文的内容足够长，足够让通用提取器认出它来。</p>" for i in range(8)
    )
    page = read(f"<html><body><div class='content'>{text}</div></body></html>")
    assert page.headlines == ()
    assert looks_like_article(page, None) == "the page has no title of its own"


def test_sina_templates_are_trusted():
    page = read('<html><body><h1 class="main-title">页面不存在</h1></body></html>')
    assert page.template == "finance"
    assert page.page_kind is None
    assert looks_like_article(page, "别的标题") is None


def test_headlines_are_the_pages_own_titles():
    page = read(without(_news_page(), SINA_MARKUP))
    title = "城市有轨电车之困：一边争相上马，一边接连叫停"
    # The logo's <h1>, the headline's (also og:title, and the <title> before the site name),
    # the whole <title>: each once.
    assert page.headlines == ("新闻中心", title, f"{title}|有轨电车|珠海市|轨道交通_新浪新闻")


def _news_page():
    return next(html for name, _, html in REAL_PAGES if name.endswith("2024_rendered"))


@pytest.mark.parametrize(
    ("one", "other", "match"),
    [
        ("工信部：全力稳定工业经济增长", "工信部:全力稳定工业经济增长", True),
        ("“券茅”业绩一枝独秀！", '"券茅"业绩 一枝独秀', True),
        ("ＡＢＣ银行 Q3 财报", "abc银行q3财报", True),
        (
            "1-4月份全国居民消费价格（CPI）同比上涨1.4%",
            "1-4月份全国居民消费价格同比上涨1.4%（附全文）",
            True,
        ),
        (
            "人民币中间价创逾五年新低",
            "人民币中间价创逾五年新低|金融改革|黄益平_新浪财经_新浪网",
            True,
        ),
        ("工信部：全力稳定工业经济增长", "国内财经_新浪财经_新浪网", False),
        ("国内财经", "国内财经要闻汇总：央行、发改委、统计局今日发布", False),
        ("央行降准", "央行加息", False),
        ("", "", False),
        ("！！", "？？", False),
    ],
)
def test_titles_match(one, other, match):
    assert titles_match(one, other) is match
    assert titles_match(other, one) is match


def test_title_key_drops_space_and_punctuation():
    assert title_key(" 60万“12306账号”外泄？ 中铁总\u3000辟谣 ") == "60万12306账号外泄中铁总辟谣"


@pytest.mark.parametrize(("name", "kind"), NON_ARTICLE_PAGES)
def test_non_article_pages_give_no_post(name, kind):
    html = (NOT_ARTICLE / name).read_text(encoding="utf-8")
    rejected = build_post(fetched(GOLDENS[2], html), CLEAN)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "not_article_page"
    assert rejected.detail == f"{PAGE_KINDS[kind]}, not the article"


def test_an_article_read_by_the_fallbacks_is_kept():
    golden = GOLDENS[2]
    built = build_post(fetched(golden, VARIANTS["generic"](golden.page)), CLEAN)
    assert not isinstance(built, Rejected)
    assert built.template in ("meta", "generic")
    assert built.title == golden.meta["title"]
