"""Markdown bodies (``ARCHIVE_BODY=markdown``): the clean body in Markdown syntax, on every golden
and saved page, and on text that means something to Markdown. (How Hexo renders them:
``tests/test_markdown_hexo.py``.)"""

from __future__ import annotations

import html
import re

import pytest
from parsel import Selector

from newsspider.archive.body import BodyMode, is_markdown_content, post_content, render_body
from newsspider.archive.markdown import MAX_DEPTH
from newsspider.archive.pictures import localize, post_images
from newsspider.items import ArticleItem
from newsspider.post import AuthorMode, PostRules, build_post, with_local_pictures
from newsspider.sina.article import parse_article

from utils.bodies import BODIES
from utils.content import GOLDENS
from utils.items import CLEAN, fetched

MARKDOWN = PostRules(BodyMode.MARKDOWN, AuthorMode.SITE)
BASE = "https://finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml"


HTML_IMG = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"')
HTML_LINK = re.compile(r'<a\b[^>]*?\shref="([^"]*)"[^>]*>(.*?)</a>', re.S)
# A markdown link (not a picture) whose text holds no picture.
MARKDOWN_LINK = re.compile(r"(?<![!\\])\[((?:[^\]\\]|\\.)*)\]\(([^()\s]*(?:\([^()\s]*\))?)\)")
GFM_DELIMITER_ROW = re.compile(r"^\|(?: ?:?-+:? ?\|)+$", re.M)


def both(body_html, url):
    clean = render_body(body_html, url, BodyMode.CLEAN)
    markdown = render_body(body_html, url, BodyMode.MARKDOWN)
    assert clean is not None and markdown is not None
    return clean, markdown


@pytest.mark.parametrize(("slug", "body_html", "url"), BODIES, ids=[b[0] for b in BODIES])
def test_markdown_keeps_the_clean_body_in_markdown_syntax(slug, body_html, url):
    clean, markdown = both(body_html, url)
    text = markdown.html
    # The same head image, and the same pictures in the same order, as ![alt](url).
    assert markdown.headimg == clean.headimg
    clean_pictures = post_images(post_content(clean.html, BodyMode.CLEAN), "")
    assert post_images(post_content(text, BodyMode.MARKDOWN), "") == clean_pictures
    assert text.count("![") == len(HTML_IMG.findall(clean.html))
    # The same links (those with text: a link that shows nothing is not written).
    clean_links = [
        html.unescape(href)
        for href, inner in HTML_LINK.findall(clean.html)
        if re.sub(r"<[^>]*>", "", inner).strip()
    ]
    assert [href for _text, href in MARKDOWN_LINK.findall(text)] == clean_links
    # Tables as GFM tables, bold as **…**.
    assert len(GFM_DELIMITER_ROW.findall(text)) == clean.html.count("<table")
    bold = clean.html.count("<strong>") + clean.html.count("<b>")
    assert len(re.findall(r"(?<!\\)\*\*[^*]+(?<!\\)\*\*", text)) == bold
    # No raw HTML at all on these pages, no code, nothing Nunjucks reads.
    assert not re.search(r"<[A-Za-z/!?]", text), text
    assert "```" not in text and "~~~" not in text
    assert not re.search(r"(?<!\\)`", text)
    for line in text.splitlines():
        assert not line.startswith(("    ", "\t")), line
    assert "{" not in text and "}" not in text
    # Sina's paragraph indent stays what it is: U+3000, never spaces.
    if "<p>\u3000\u3000" in clean.html:
        assert "\n\n\u3000\u3000" in text


def test_the_golden_tables_keep_their_grid():
    """Cells spanning rows or columns: each written in the first place it covers, the others
    left empty, so every row has the table's columns."""
    (golden,) = [g for g in GOLDENS if "tables" in g.slug]
    _clean, markdown = both(parse_article(Selector(text=golden.page)).body_html, golden.meta["url"])
    rows = [line for line in markdown.html.splitlines() if line.startswith("|")]
    assert len(rows) > 20
    widths = [len(re.findall(r"(?<!\\)\|", row)) for row in rows]
    tables = markdown.html.split("\n\n")
    for table in tables:
        lines = [line for line in table.splitlines() if line.startswith("|")]
        assert len({len(re.findall(r"(?<!\\)\|", line)) for line in lines}) <= 1, table
    assert max(widths) == 10  # table 2: nine columns
    assert "| 分&#12288;组 | 营业收入 | | 营业成本 | | 利润总额 | |" in markdown.html
    assert "|  | 1-11月（亿元） | 同比增长（%） |" in markdown.html


@pytest.mark.parametrize(
    ("body", "markdown"),
    [
        ("<p>a*b*c _d_ __e__</p>", r"a\*b\*c \_d\_ \_\_e\_\_"),
        ("<p>`code` ~~s~~ | x \\ y</p>", r"\`code\` \~\~s\~\~ \| x \\ y"),
        (
            "<p>[g](h) ![i](https://n.sinaimg.cn/x.png)</p>",
            r"\[g\](h) !\[i\](https&#58;//n.sinaimg.cn/x.png)",
        ),
        (
            "<p>&lt;b&gt;x&lt;/b&gt; &amp;amp; &amp;#123; A&amp;B</p>",
            "&lt;b&gt;x&lt;/b&gt; &amp;amp; &amp;#123; A&B",
        ),
        ("<p>1. one</p>", r"1\. one"),
        ("<p>2) two</p>", r"2\) two"),
        ("<p>- dash</p>", r"\- dash"),
        ("<p>+ plus</p>", r"\+ plus"),
        ("<p># head</p>", r"\# head"),
        ("<p>&gt; quote</p>", "&gt; quote"),
        ("<p>x<br>---</p>", "x  \n-&#45;&#45;"),
        ("<p>x<br>===</p>", "x  \n\\==="),
        (
            "<p>{{ v }} {% raw %} {# c #}</p>",
            "&#123;&#123; v &#125;&#125; &#123;% raw %&#125; &#123;# c #&#125;",
        ),
        # What marked's GFM would make links of, and Hexo's smartypants dashes and quotes of.
        (
            "<p>www.a.cn http://b.cn ftp://c.cn e@f.com @微博</p>",
            "www&#46;a.cn http&#58;//b.cn ftp&#58;//c.cn e&#64;f.com @微博",
        ),
        ('<p>It\'s "q" -- a ... b</p>', "It&#39;s &quot;q&quot; -&#45; a ..&#46; b"),
        ("<p>x<br>: y</p>", "x  \n&#58; y"),
        # Sina's indent, the ideographic space inside text, and no-break spaces stay.
        ("<p>\u3000\u3000正文\u3000中</p>", "\u3000\u3000正文\u3000中"),
        ("<p>a&nbsp;b&nbsp;</p>", "a&nbsp;b&nbsp;"),
        # A line break in the HTML text is a space, not a new Markdown block.
        ("<p>line\n# not a heading\n- nor a list</p>", "line # not a heading - nor a list"),
        # Noncharacters (the converter's placeholders) in the text come out as they went in.
        ("<p>\ufdd0\ufdd5\ufdef</p>", "\ufdd0\ufdd5\ufdef"),
    ],
)
def test_text_is_escaped_so_it_renders_as_written(body, markdown):
    rendered = render_body(body, BASE, BodyMode.MARKDOWN)
    assert rendered is not None
    assert rendered.html == markdown


@pytest.mark.parametrize(
    ("body", "markdown"),
    [
        ("<h2>小标题</h2><p>正文</p>", "## 小标题\n\n正文"),
        ("<h3>\u3000\u3000缩进标题</h3>", "### &#12288;&#12288;缩进标题"),
        ("<p><strong>加粗</strong>和<em>斜体</em></p>", "**加粗**和*斜体*"),
        ('<ul><li>一</li><li>二</li></ul><ol start="3"><li>三</li></ol>', "- 一\n- 二\n\n3. 三"),
        ("<blockquote><p>引用</p></blockquote>", "> 引用"),
        (
            '<p><a href="https://finance.sina.com.cn/x.shtml">链接</a></p>',
            "[链接](https://finance.sina.com.cn/x.shtml)",
        ),
        (
            '<p><img src="https://n.sinaimg.cn/a.jpg" alt="图 ]"></p>',
            "![图 \\]](https://n.sinaimg.cn/a.jpg)",
        ),
        ('<p><img src="https://n.sinaimg.cn/a b.jpg"></p>', "![](https://n.sinaimg.cn/a%20b.jpg)"),
        (
            "<table><tr><th>a|b</th><th>\u3000c</th></tr><tr><td>1</td><td>2</td></tr></table>",
            "| a\\|b | &#12288;c |\n| --- | --- |\n| 1 | 2 |",
        ),
        # Where `*` could not open or close (punctuation inside, a letter outside), and around
        # spaces, emphasis stays HTML; nothing else does.
        ("<p>文字<strong>“引号”</strong>文字</p>", "文字<strong>“引号”</strong>文字"),
        ("<p><strong>\u3000\u3000加粗</strong></p>", "<strong>\u3000\u3000加粗</strong>"),
        ("<p>“<strong>引号</strong>”</p>", "“**引号**”"),
        ("<p>a<strong> b </strong>c</p>", "a **b** c"),
        (
            "<p>x<sup>2</sup> H<sub>2</sub>O <u>下划线</u></p>",
            "x<sup>2</sup> H<sub>2</sub>O <u>下划线</u>",
        ),
        ("<p>a<code>c*d</code></p>", "a<code>c\\*d</code>"),
        ("<pre>  x *y* &lt;z&gt; 'q'</pre>", "<pre>  x *y* &lt;z&gt; &#39;q&#39;</pre>"),
        ("<div><div><p>只有段落</p></div></div>", "只有段落"),
        # A caption is an italic paragraph before its table.
        (
            "<table><caption>\u3000表 1</caption><tr><td>x</td></tr></table>",
            "<em>\u3000表 1</em>\n\n| x |\n| --- |",
        ),
        ("<table><caption>表 2</caption><tr><td>x</td></tr></table>", "*表 2*\n\n| x |\n| --- |"),
    ],
)
def test_structure_in_markdown_syntax(body, markdown):
    rendered = render_body(body, BASE, BodyMode.MARKDOWN)
    assert rendered is not None
    assert rendered.html == markdown


def test_elements_nested_past_the_limit_are_written_as_their_content():
    body = (
        "<p>前</p>"
        + "<blockquote>" * (MAX_DEPTH + 50)
        + "<p>深处</p>"
        + "</blockquote>" * (MAX_DEPTH + 50)
    )
    rendered = render_body(body, BASE, BodyMode.MARKDOWN)
    assert rendered is not None
    markdown = rendered.html
    assert "深处" in markdown and "<" not in markdown
    assert markdown.splitlines()[-1].count(">") == MAX_DEPTH


def test_a_markdown_body_is_told_from_an_html_one():
    markdown = render_body("<div><p>x</p></div>", BASE, BodyMode.MARKDOWN)
    assert markdown is not None and markdown.html == "x"
    assert is_markdown_content(post_content(markdown.html, BodyMode.MARKDOWN))
    assert is_markdown_content(post_content("&lt;div&gt;", BodyMode.MARKDOWN))
    assert not is_markdown_content(post_content("x", BodyMode.CLEAN))
    assert not is_markdown_content(post_content("x", BodyMode.VERBATIM))


def test_pictures_of_markdown_bodies():
    body = post_content(
        '![a](https://n.sinaimg.cn/a.jpg) ![b \\] c](<https://n.sinaimg.cn/b c.jpg> "t")\n\n'
        "[not a picture](https://n.sinaimg.cn/link.jpg) !\\[text\\](https&#58;//n.sinaimg.cn/t.jpg)"
        '\n\n<sup><img src="https://n.sinaimg.cn/raw.jpg"></sup> ![](https://x.cn/&#123;q&#125;(1).png)'
        " ![](data:image/png;base64,AA)",
        BodyMode.MARKDOWN,
    )
    assert post_images(body, "https://n.sinaimg.cn/head.jpg") == (
        "https://n.sinaimg.cn/head.jpg",
        "https://n.sinaimg.cn/a.jpg",
        "https://n.sinaimg.cn/b c.jpg",
        "https://n.sinaimg.cn/raw.jpg",
        "https://x.cn/{q}(1).png",
    )
    # Markdown syntax in the text of an HTML post is text.
    clean = post_content("<p>![a](https://n.sinaimg.cn/a.jpg)</p>", BodyMode.CLEAN)
    assert post_images(clean, "") == ()
    assert localize(clean, "", {"https://n.sinaimg.cn/a.jpg": "aa/a.jpg"}, "/i/") == (clean, "")


def test_localize_points_markdown_pictures_at_the_stored_files():
    body = post_content(
        "![a](https://n.sinaimg.cn/a.jpg) [link](https://n.sinaimg.cn/a.jpg) "
        "![b](https://n.sinaimg.cn/b.jpg) ![](https://x.cn/&#123;q&#125;.png)",
        BodyMode.MARKDOWN,
    )
    stored = {"https://n.sinaimg.cn/a.jpg": "aa/aa.jpg", "https://x.cn/{q}.png": "cc/cc.png"}
    local, head = localize(body, "https://n.sinaimg.cn/a.jpg", stored, "/images/")
    assert head == "/images/aa/aa.jpg"
    assert local == post_content(
        "![a](/images/aa/aa.jpg) [link](https://n.sinaimg.cn/a.jpg) "
        "![b](https://n.sinaimg.cn/b.jpg) ![](/images/cc/cc.png)",
        BodyMode.MARKDOWN,
    )
    # A prefix Markdown cannot take bare goes in <…>, braces escaped.
    local, _ = localize(body, "", stored, "https://img.example/my pics/{x}/")
    assert "![a](<https://img.example/my pics/&#123;x&#125;/aa/aa.jpg>)" in local
    assert post_images(local, "")[0] == "https://img.example/my pics/{x}/aa/aa.jpg"


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_a_markdown_post_has_the_clean_posts_front_matter(golden):
    clean = build_post(fetched(golden), CLEAN)
    markdown = build_post(fetched(golden), MARKDOWN)
    assert isinstance(clean, ArticleItem) and isinstance(markdown, ArticleItem)
    clean_text, markdown_text = clean.post.decode(), markdown.post.decode()
    front = clean_text[: clean_text.index("\n---\n", 1) + 5]
    assert markdown_text.startswith(front)
    assert markdown_text == front + markdown.body
    assert markdown.headimg == clean.headimg and markdown.images == clean.images
    assert markdown.body.startswith("\n") and not markdown.body.startswith("\n<div>")
    assert markdown.found == clean.found


def test_a_markdown_post_with_local_pictures_shows_the_stored_files():
    golden = GOLDENS[0]
    item = build_post(fetched(golden), MARKDOWN)
    assert isinstance(item, ArticleItem)
    stored = {url: f"{n:02x}/{n:02x}.jpg" for n, url in enumerate(item.images)}
    local = with_local_pictures(item, stored, "/images/")
    assert local.headimg == "/images/00/00.jpg"
    shown = re.findall(r"!\[[^\]]*\]\(([^)]*)\)", local.body)
    assert tuple(dict.fromkeys(shown)) == tuple(f"/images/{stored[u]}" for u in item.images)
    assert not any(url in local.body for url in item.images)
    assert local.post.decode().endswith(local.body)
