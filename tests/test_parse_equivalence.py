"""read_article gives what parsing the whole page gives, on every saved page, in UTF-8 (with and
without a byte order mark, with NULs, bad bytes, spaces str.strip() removes) and GB18030."""

import dataclasses

import pytest
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
