"""Markdown posts rendered by a real Hexo 8 site (`npm ci --prefix tests/hexo`): for every golden
and saved page, and for text that means something to Markdown, Nunjucks or Hexo's marked, the
markdown post shows the same text, the same pictures and the same links as the clean post."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from lxml import etree

from newsspider.archive.body import BodyMode, post_content, render_body
from newsspider.post import FrontMatter, render_post

from utils.bodies import BODIES
from utils.hexo_site import HexoLoad, load_hexo_posts

pytestmark = pytest.mark.hexo

BASE = "https://finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml"

# Text and markup that Markdown, marked's GFM extensions, Hexo's smartypants and description
# lists, or Nunjucks would read as something else, each a post of its own.
HOSTILE = {
    "emphasis": "<p>a*b*c _d_ __e__ ***f*** `g` ~~h~~ ~i~ | j \\ k \\* l</p>",
    "links": "<p>[g](h) ![i](https://n.sinaimg.cn/x.png) &lt;https://a.cn&gt; [^1]</p>",
    "tags": '<p>&lt;b&gt;x&lt;/b&gt; &lt;img src="https://n.sinaimg.cn/y.png"&gt; &lt;div&gt;</p>',
    "entities": "<p>&amp;amp; &amp;#123; &amp;copy; A&amp;B &amp;nbsp;</p>",
    "blocks": (
        "<p>1. one</p><p>2) two</p><p>- dash</p><p>+ plus</p><p>* star</p><p>&gt; quote</p>"
        "<p># head</p><p>===</p><p>***</p><p>---</p><p>x<br>---</p><p>x<br>===</p>"
        "<p>line\n# not a heading\n- nor a list\n    nor code</p><p>    four spaces</p>"
    ),
    "nunjucks": "<p>{{ var }} {% raw %} {# c #} {x} }} %}</p>",
    "autolinks": "<p>www.12306.cn http://a.cn/b https://c.cn ftp://d.cn e@f.com @微博 WWW.G.CN</p>",
    "smartypants": '<p>It\'s "q" -- a --- b ... c .... d</p><p>x<br>: not a definition</p>',
    "spaces": "<p>\u3000\u3000indent\u3000mid</p><p>nb&nbsp;sp&nbsp;</p><p>\ufdd0\ufdef x</p>",
    "bold": (
        "<p><strong>\u3000\u3000bold</strong> <em>it</em> 文字<strong>“引号”</strong>文字"
        " a<strong> x </strong>b <strong><em>both</em></strong>. “<b>内</b>”</p>"
    ),
    "structure": (
        "<h2>\u3000\u3000head two</h2><ul><li>item *1*</li><li>item 2</li></ul>"
        '<ol start="3"><li>three</li></ol><blockquote><p>q &gt; q</p></blockquote>'
        "<table><tr><th>\u3000h1</th><th>h|2</th></tr><tr><td>a*b</td><td>{c}</td></tr></table>"
        '<table><caption>\u3000表 1</caption><tr><td rowspan="2">r</td><td colspan="2">c</td>'
        "</tr><tr><td>1</td><td>2</td></tr></table>"
    ),
    "urls": (
        '<p><a href="https://x.cn/p?a=1&amp;b=(2)&amp;c={d}">L *x*</a> <a href="https://x.cn/a b">'
        'sp</a> <img src="https://x.cn/{a}(b).png" alt="al]t*"> <img src="https://x.cn/a b.png">'
        ' <a href="https://x.cn/q\'u">q</a></p>'
    ),
    "code": (
        "<pre>  pre *x* &lt;y&gt; {z} 'q'\n# line</pre><p>a<sup>2*</sup> <code>c*d</code></p>"
        "<table><caption>“表”</caption><tr><td><pre>t*p</pre></td></tr></table><pre>-- x</pre>"
    ),
}


def _post(title: str, body_html: str, url: str, mode: BodyMode) -> bytes:
    rendered = render_body(body_html, url, mode)
    assert rendered is not None
    front = FrontMatter(title, datetime(2021, 12, 13, tzinfo=UTC), ("金融", "新浪财经"), "新浪财经")
    return render_post(front, rendered.headimg, post_content(rendered.html, mode))


@pytest.fixture(scope="module")
def hexo_load(tmp_path_factory: pytest.TempPathFactory) -> HexoLoad:
    """One Hexo load of the clean and the markdown post of every page and hostile text, titled
    ``<mode> <id>``."""
    tmp = tmp_path_factory.mktemp("markdown-hexo")
    archive = tmp / "archive"
    archive.mkdir()
    pages = [(slug, body, url) for slug, body, url in BODIES]
    pages += [(f"hostile-{name}", body, BASE) for name, body in HOSTILE.items()]
    for number, (slug, body, url) in enumerate(pages):
        for mode in (BodyMode.CLEAN, BodyMode.MARKDOWN):
            path = archive / f"{mode.value}-{number:02d}.md"
            path.write_bytes(_post(f"{mode.value} {slug}", body, url, mode))
    return load_hexo_posts(archive, tmp / "site")


def _rendered(load: HexoLoad, mode: str, slug: str) -> str:
    (post,) = [post for post in load.posts if post.title == f"{mode} {slug}"]
    return post.content


def _shown(content: str) -> tuple[str, list[str], list[str]]:
    """The text (without ASCII whitespace), the pictures and the links a rendered post shows: a
    link that shows nothing (an ``<a>`` around an empty ``<em>``) is none, and neither are Hexo's
    own heading anchors (``a.headerlink``)."""
    root = etree.fromstring(f"<div>{content}</div>", etree.HTMLParser())
    for anchor in root.xpath('//a[@class="headerlink"]'):
        parent = anchor.getparent()
        before = anchor.getprevious()
        if before is not None:
            before.tail = (before.tail or "") + (anchor.tail or "")
        else:
            parent.text = (parent.text or "") + (anchor.tail or "")
        parent.remove(anchor)
    text = re.sub(r"[ \t\r\n]+", "", "".join(root.itertext()))
    pictures = [html.unescape(img.get("src") or "") for img in root.iter("img")]
    links = [
        html.unescape(a.get("href") or "")
        for a in root.iter("a")
        if a.get("href") is not None
        and ("".join(a.itertext()).strip() or a.find(".//img") is not None)
    ]
    return text, pictures, links


def test_every_post_loads(hexo_load: HexoLoad) -> None:
    assert hexo_load.errors == []
    assert hexo_load.missing == []
    assert len(hexo_load.posts) == 2 * (len(BODIES) + len(HOSTILE))


@pytest.mark.parametrize("slug", [b[0] for b in BODIES])
def test_markdown_posts_show_what_clean_posts_show(hexo_load: HexoLoad, slug: str) -> None:
    clean = _rendered(hexo_load, "clean", slug)
    markdown = _rendered(hexo_load, "markdown", slug)
    text, pictures, links = _shown(markdown)
    assert (text, pictures, links) == _shown(clean)
    assert pictures or "noimg" in slug or "forex" in slug or "2018" in slug or "mobile" in slug
    assert "<pre" not in markdown and "<code" not in markdown
    assert not re.search(r"&lt;/?[a-zA-Z]", markdown)
    assert "<p>" in markdown


@pytest.mark.parametrize("name", list(HOSTILE))
def test_text_that_means_something_to_markdown_renders_as_written(
    hexo_load: HexoLoad, name: str
) -> None:
    clean = _shown(_rendered(hexo_load, "clean", f"hostile-{name}"))
    markdown = _shown(_rendered(hexo_load, "markdown", f"hostile-{name}"))
    assert markdown == clean


def test_markdown_structure_is_rendered_as_structure(hexo_load: HexoLoad) -> None:
    structure = _rendered(hexo_load, "markdown", "hostile-structure")
    assert "<h2" in structure and "<ul>" in structure and '<ol start="3">' in structure
    assert "<blockquote>" in structure and structure.count("<table>") == 2
    assert "<th>&#12288;h1</th>" in structure
    bold = _rendered(hexo_load, "markdown", "hostile-bold")
    assert "<strong>" in bold and "<em>" in bold and "**" not in bold and "*" not in bold
