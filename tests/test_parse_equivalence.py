"""read_article gives what parsing the whole page gives, on every saved page and on pages made to
trip it: markup after the body container that a template reads, a container that never closes,
cuts inside tags, NULs, byte order marks, GB18030, pages nested too deep."""

import dataclasses
import string
from collections import Counter
from html.entities import html5

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from w3lib.encoding import html_to_unicode

from newsspider.sina import article
from newsspider.sina.article import PageTooDeep, page_root, parse_article, read_article

from utils.content import DATA

SAVED = sorted(DATA.parent.rglob("*.html"))
GOLDEN_PAGES = sorted((DATA / "golden").glob("*/page.html"))


def whole(body, encoding):
    """The reference: the page decoded as Scrapy decodes it, parsed whole, then read."""
    return parse_article(page_root(html_to_unicode(f"charset={encoding}", body)[1]))


def outcome(read, body, encoding):
    try:
        return dataclasses.asdict(read(body, encoding))
    except PageTooDeep as exc:
        return f"PageTooDeep: {exc}"


def assert_same(body, encoding="utf-8"):
    assert outcome(read_article, body, encoding) == outcome(whole, body, encoding)


def prepared(body, encoding="utf-8"):
    return article._text_bytes(html_to_unicode(f"charset={encoding}", body)[1])


def test_every_saved_html_file_is_covered():
    assert len(SAVED) >= 19
    assert set(GOLDEN_PAGES) <= set(SAVED)


# ---- saved pages ------------------------------------------------------------------------------


def _variants(text):
    raw = text.encode("utf-8")
    at = len(raw) // 2
    at = raw.index(b"<", at)
    return {
        "utf-8": (raw, "utf-8"),
        "utf8 label": (raw, "UTF8"),
        "utf-8 bom": (b"\xef\xbb\xbf" + raw, "utf-8"),
        "utf-8 bom, gbk label": (b"\xef\xbb\xbf" + raw, "gbk"),
        "utf-16 bom": (text.encode("utf-16"), "utf-8"),
        "gb18030": (text.encode("gb18030", errors="replace"), "gb18030"),
        "gbk label": (text.encode("gb18030", errors="replace"), "GBK"),
        "nul bytes": (b"\x00" + raw[:at] + b"\x00<\x00" + raw[at + 1 :] + b"\x00", "utf-8"),
        "bad utf-8": (raw[:at] + b"\xff\xfe" + raw[at:], "utf-8"),
        "unicode spaces": (("\u3000\x1c " + text + "\x85\u2028").encode("utf-8"), "utf-8"),
        "ascii spaces": (b" \t\r\n\x0b\x0c\x1c\x1d\x1e\x1f" + raw + b"\n\x1f", "utf-8"),
        "no label": (raw, ""),
        "utf-8 labelled gbk": (raw, "gbk"),
        "utf-8 labelled latin-1": (raw, "latin-1"),
    }


# The variants whose page bytes go to the parser as they came (no decoding and encoding again).
AS_THEY_CAME = {
    "utf-8",
    "utf8 label",
    "utf-8 bom",
    "utf-8 bom, gbk label",
    "nul bytes",
    "ascii spaces",
}


@pytest.mark.parametrize("path", SAVED, ids=lambda p: f"{p.parent.name}/{p.name}"[-60:])
def test_saved_pages_read_as_the_whole_page(path):
    text = path.read_text(encoding="utf-8")
    for name, (body, encoding) in _variants(text).items():
        assert outcome(read_article, body, encoding) == outcome(whole, body, encoding), name


@pytest.mark.parametrize("path", SAVED, ids=lambda p: f"{p.parent.name}/{p.name}"[-60:])
def test_page_bytes_are_what_the_decoded_text_gives(path):
    for name, (body, encoding) in _variants(path.read_text(encoding="utf-8")).items():
        fast = article._utf8_bytes(body, encoding)
        if name in AS_THEY_CAME:
            assert fast == prepared(body, encoding), name
        else:
            assert fast is None, name


@pytest.mark.parametrize("path", GOLDEN_PAGES, ids=lambda p: p.parent.name)
def test_golden_pages_are_read_up_to_the_end_of_their_body(path):
    """The checks do not refuse the pages they are for (else the cut would save nothing)."""
    data = prepared(path.read_bytes())
    cut = article._guess_cut(data)
    assert cut is not None and cut < 0.8 * len(data)
    assert article._read_before_cut(data, cut) == whole(path.read_bytes(), "utf-8")


def _cuts(data):
    """Cut points around the guessed one (every ``<`` within 4 kB) and all over the page
    (every 499th byte: inside tags, text, characters)."""
    guess = article._guess_cut(data) or len(data) // 2
    near = [i for i in range(max(1, guess - 4000), min(len(data), guess + 4000)) if data[i] == 60]
    return sorted({*near, *range(1, len(data), 499)})


@pytest.mark.parametrize("path", SAVED, ids=lambda p: f"{p.parent.name}/{p.name}"[-60:])
def test_reading_before_any_cut_is_the_whole_page_or_nothing(path):
    body = path.read_bytes()
    data, expected = prepared(body), whole(body, "utf-8")
    taken = 0
    for cut in _cuts(data):
        page = article._read_before_cut(data, cut)
        assert page is None or page == expected, cut
        taken += page is not None
    if article._guess_cut(data) is not None:
        assert taken  # some cuts were taken, so the comparison meant something


# ---- markup after the body container ----------------------------------------------------------

HEAD = """<html><head><title>标题_新浪财经_新浪网</title>
<meta property="og:title" content="元标题">
<meta property="article:published_time" content="2021-12-13T15:34:10+08:00">
<meta name="article:author" content="元作者">
</head><body><div class="header"><a href="/">首页</a></div>"""
TAIL = """<div class="related"><ul><li><a href="/a">相关新闻一</a></li>
<li><a href="/b">相关新闻二</a></li></ul></div><script>var x = "<div>" + 1;</script>
<div class="footer">新浪公司 版权所有</div>"""
BODY = "<p>正文第一段，数据显示增长。</p><p>第二段 <b>加粗</b></p>"

# Each template's page, with its body container, and a bare one with nothing but what tells its
# template; "{later}" is where markup after the container goes.
BASES = {
    "finance": f"""{HEAD}<div class="main"><h1 class="main-title">正标题</h1>
<div class="date-source"><span class="date">2021年12月13日 15:34</span>
<a class="source" href="/">新华社</a></div>
<div class="article" id="artibody">{BODY}</div>{{later}}</div>{TAIL}{{end}}</body></html>""",
    "finance bare": f"""<html><body><div id="artibody">{BODY}</div>{{later}}{TAIL}{{end}}
</body></html>""",
    "legacy": f"""{HEAD}<h1 id="artibodyTitle">旧标题</h1>
<span class="time-source">2016年05月25日10:10 <span id="media_name">中国证券报</span></span>
<span id="pub_date">2016年05月25日10:10</span>
<div id="artibody">{BODY}</div>{{later}}{TAIL}{{end}}</body></html>""",
    "legacy bare": f"""<html><body><span class="time-source"></span><div id="artibody">{BODY}</div>
{{later}}{TAIL}{{end}}</body></html>""",
    "news": f"""{HEAD}<h1 class="main-title">新闻标题</h1><div class="date-source">
<span class="date">2024年01月02日 03:04</span><span class="date">作者</span>
<a class="source">人民网</a></div>
<div class="article" id="article">{BODY}<p class="show_author">责任编辑：某</p></div>
{{later}}{TAIL}{{end}}</body></html>""",
    "news bare": f"""<html><body><div class="date-source"></div><div id="article">{BODY}</div>
{{later}}{TAIL}{{end}}</body></html>""",
    "mobile": f"""{HEAD}<article><h1 class="art_tit_h1">手机标题</h1>
<h2 class="weibo_user">财联社</h2>
<time class="weibo_time" datetime="2021-12-13T15:34:00+08:00">2021.12.13 15:34</time>
<section class="art_pic_card art_content">{BODY}</section>{{later}}</article>{TAIL}{{end}}
</body></html>""",
    "mobile bare": f"""<html><body><section class="art_pic_card art_content">{BODY}</section>
{{later}}{TAIL}{{end}}</body></html>""",
}

LATER = {
    "main-title": '<h1 class="main-title">后来的标题</h1>',
    "main-title among others": '<h1 class="x main-title\ty">后来的标题</h1>',
    "date-source": '<div class="date-source"><span class="date">2020年01月02日 03:04</span>'
    '<a class="source">后来的来源</a></div>',
    "time-source": '<span class="time-source">2019年01月02日03:04 后来的来源</span>',
    "pub_date": '<span id="pub_date">2019年01月02日03:04</span>',
    "media_name": '<span id="media_name">后来的媒体</span>',
    "artibodyTitle": '<h1 id="artibodyTitle">后来的标题</h1>',
    "artibody": '<div id="artibody"><p>后来的正文</p></div>',
    "artibody as a name": '<a name="artibody">锚</a>',
    "article": '<div id="article"><p>后来的正文</p></div>',
    "art_tit_h1": '<h1 class="art_tit_h1">后来的标题</h1>',
    "weibo_user": '<h2 class="weibo_user">后来的作者</h2>',
    "weibo_time": '<time class="weibo_time" datetime="2019-01-02T03:04:00+08:00">2019.01.02</time>',
    "art_content": '<section class="art_pic_card art_content"><p>后来的正文</p></section>',
    "og:title": '<meta property="og:title" content="后来的元标题">',
    "published_time": '<meta property="article:published_time" content="2019-01-02T03:04:00Z">',
    "author": '<meta name="article:author" content="后来的作者">',
    "numeric reference": '<div class="date&#45;source"><a class="source">拼出来的</a></div>',
    "hex reference": '<h1 class="main&#x2d;title">拼出来的标题</h1>',
    "lowbar": '<span id="media&lowbar;name">拼出来的媒体</span>',
    "UnderBar": '<span id="pub&UnderBar;date">2019年01月02日03:04</span>',
    "colon": '<meta property="og&colon;title" content="拼出来的元标题">',
    "misplaced body": '<body class="date-source"><span class="source">身体</span>',
    "misplaced html": '<html class="main-title" id="artibody">',
    "unclosed tag": '<div class="date-source" title="',
    "unclosed comment": "<!-- ",
    "unclosed script": "<script>",
    "mark text": "<!--newsspider-cut-->",
    "deep": "<div>" * 2100 + "深",
    "deep, closed": "<div>" * 2100 + "深" + "</div>" * 2100,
    "nothing": "",
}


@pytest.mark.parametrize("later", LATER, ids=str)
@pytest.mark.parametrize("base", BASES, ids=str)
def test_markup_after_the_container(base, later):
    for where in ("later", "end"):
        page = BASES[base].format(**{"later": "", "end": "", where: LATER[later]})
        assert_same(page.encode("utf-8"))
        assert_same(page.encode("gb18030"), "gb18030")


@pytest.mark.parametrize("base", BASES, ids=str)
def test_template_pages_are_read_up_to_the_end_of_their_body(base):
    body = BASES[base].format(later="", end="").encode("utf-8")
    data = prepared(body)
    cut = article._guess_cut(data)
    assert cut is not None
    page = article._read_before_cut(data, cut)
    assert page == whole(body, "utf-8")
    assert page.template == base.split()[0]


@pytest.mark.parametrize("base", BASES, ids=str)
def test_markup_before_the_container_is_read_too(base):
    """What precedes the container (the guess's start) is parsed as always."""
    page = BASES[base].format(later="", end="")
    for later in LATER.values():
        assert_same(page.replace("<body>", "<body>" + later, 1).encode("utf-8"))


def test_a_container_that_never_closes():
    page = BASES["finance"].format(later="", end="").replace(f"{BODY}</div>", BODY + "<div>")
    assert_same(page.encode("utf-8"))
    assert_same(page.replace("</body></html>", "").encode("utf-8"))


def test_a_container_closed_by_what_follows():
    """The end tag of an element that holds the container closes it; the guess, which counts
    only the container's tag, cuts later or not at all."""
    page = BASES["mobile"].format(later="", end="")
    assert_same(page.replace(f"{BODY}</section>", BODY).encode("utf-8"))
    assert_same(page.replace(f"{BODY}</section>", BODY + "</article>").encode("utf-8"))


@pytest.mark.parametrize(
    "trap",
    [
        '<!-- <div id="artibody"> -->',
        "<script>document.write('<div id=\"artibody\">')</script>",
        '<p title="</div>">x</p>',
        "<!-- </div> -->",
        "<script>var s = '</div>';</script>",
        "</div>",
        "<div>",
        "<div id='x'></div><div",
    ],
)
def test_end_tags_the_guess_miscounts(trap):
    for base in ("finance", "news", "mobile"):
        page = BASES[base].format(later="", end="").replace("<p>第二段", trap + "<p>第二段")
        assert_same(page.encode("utf-8"))


@pytest.mark.parametrize(
    "outer",
    [
        ('<div class="date-source"><span class="date">2021年12月13日 15:34</span>', "</div>"),
        ('<h1 class="main-title">', "</h1>"),
        ('<span class="time-source">', "</span>"),
        ("<div id='media_name'>", "</div>"),
    ],
)
def test_a_container_inside_what_the_reader_reads(outer):
    """An element still open at the cut gets the rest's text and elements: the source after
    the body, the title's words after it."""
    start, end = outer
    for base in ("finance bare", "legacy bare", "news bare"):
        container = "artibody" if base != "news bare" else "article"
        page = BASES[base].format(later="", end="")
        page = page.replace(f'<div id="{container}">', f'{start}<div id="{container}">')
        page = page.replace(f"{BODY}</div>", f'{BODY}</div>标题尾<a class="source">来源</a>{end}')
        assert_same(page.encode("utf-8"))


@pytest.mark.parametrize("before", ["", "<!--newsspider-cut-->"])
def test_cuts_inside_a_tag(before):
    """Cut inside a tag, the mark is lost in it (and a comment of the page with the mark's text
    just before must not pass for it): what the tag holds after the cut is unseen."""
    page = BASES["finance"].format(
        later=f'{before}<div class="date-source" title="x"><a class="source">后来</a></div>',
        end="",
    )
    body = page.encode("utf-8")
    data, expected = prepared(body), whole(body, "utf-8")
    at = data.index(b'title="x"')
    for cut in range(at - 30, at + 12):
        assert article._read_before_cut(data, cut) in (None, expected), cut


@pytest.mark.parametrize("path", GOLDEN_PAGES[:3], ids=lambda p: p.parent.name)
@pytest.mark.parametrize("fraction", [0.3, 0.55, 0.6, 0.65, 0.7, 0.9])
def test_cut_off_pages(path, fraction):
    raw = path.read_bytes()
    assert_same(raw[: int(len(raw) * fraction)])


def _nested(levels):
    return "<div>" * levels + "<p>" + "深" * 30 + "</p>"


@pytest.mark.parametrize("levels", [2000, 2045, 2046, 3000])
@pytest.mark.parametrize("where", ["before", "inside", "after"])
def test_pages_nested_deep(where, levels):
    page = BASES["finance"].format(later="", end="")
    if where == "before":
        page = page.replace("<body>", "<body>" + _nested(levels), 1)
    elif where == "inside":
        page = page.replace("<p>第二段", _nested(levels) + "<p>第二段")
    else:
        page = page.replace("</body>", _nested(levels) + "</body>")
    assert_same(page.encode("utf-8"))
    if levels > 2045:
        with pytest.raises(PageTooDeep):
            read_article(page.encode("utf-8"), "utf-8")


def test_references_that_spell_names_are_known():
    """Every character reference libxml2 turns into a letter, digit, "-", "_" or ":" (which
    could spell a class, id or meta name) is one the reading before a cut looks for."""
    names = {name for name in html5} | {name.rstrip(";") for name in html5}
    names |= {name.upper() for name in names} | {name.lower() for name in names}
    refs = sorted(f"&{name}" for name in names)
    page = "<html><body>" + "".join(f'<i title="x{ref}y"></i>' for ref in refs) + "</body></html>"
    root = etree.fromstring(page.encode("utf-8"), etree.HTMLParser())
    name_characters = set(string.ascii_letters + string.digits + "-_:")
    for ref, element in zip(refs, root.iter("i"), strict=True):
        decoded = element.get("title")[1:-1]
        added = Counter(c for c in decoded if c in name_characters) - Counter(ref)
        if added:
            assert article._NAME_REFERENCE.match(ref.encode()), ref
    assert article._NAME_REFERENCE.match(b"&#45;")
    assert article._NAME_REFERENCE.match(b"&#x5f;")


def test_readers_look_only_where_their_reach_says(monkeypatch):
    """Every selector a Sina template's reader runs on the whole page, and every meta name
    parse_article reads for it, is in :data:`article._REACH` and :data:`article._META_KEYS`
    (what the reading before a cut checks the rest of the page for)."""
    used = []
    select, meta_map = article._select, article._meta_map

    class Recording(dict):
        def get(self, key, default=None):
            used.append(key)
            return super().get(key, default)

    def recording_select(node, css):
        if node.getparent() is None:
            used.append(css)
        return select(node, css)

    monkeypatch.setattr(article, "_select", recording_select)
    monkeypatch.setattr(article, "_meta_map", lambda sel: Recording(meta_map(sel)))
    pages = [p.read_bytes() for p in SAVED] + [
        BASES[base].format(later="", end="").encode() for base in BASES
    ]
    seen = set()
    for body in pages:
        root = page_root(html_to_unicode("charset=utf-8", body)[1])
        used.clear()
        page = parse_article(root)
        if page.template in article.FALLBACK_TEMPLATES:
            continue
        reach = article._REACH[page.template]
        assert set(used) <= {reach.container, *reach.first, *reach.every, *article._META_KEYS}
        seen.add(page.template)
    assert seen == {"finance", "legacy", "news", "mobile"}


# ---- random pages -----------------------------------------------------------------------------

PIECES = [
    *LATER.values(),
    '<div id="artibody">',
    '<div class="article" id="article">',
    '<section class="art_pic_card art_content">',
    "<div>",
    "</div>",
    "</section>",
    "<p>",
    "</p>",
    "正文",
    "text ",
    "<!--",
    "-->",
    "<script>",
    "</script>",
    '<a title="',
    '">',
    "&#",
    "&amp;",
    "<",
    ">",
    "\x00",
    "\n",
    "<h1>",
    "</h1>",
    '<span class="date">2021年12月13日 15:34</span>',
    '<a class="source">来源</a>',
    "<title>标题_新浪财经</title>",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(st.sampled_from(PIECES), max_size=12),
    base=st.sampled_from(sorted(BASES)),
    later=st.lists(st.sampled_from(PIECES), max_size=12),
    cut=st.floats(0, 1),
)
def test_random_pages(before, base, later, cut):
    page = BASES[base].format(later="".join(later), end="")
    page = page.replace("<body>", "<body>" + "".join(before), 1)
    body = page.encode("utf-8")
    assert_same(body)
    data = prepared(body)
    at = max(1, int(len(data) * cut))
    try:
        expected = whole(body, "utf-8")
    except PageTooDeep:
        return
    assert article._read_before_cut(data, at) in (None, expected)
