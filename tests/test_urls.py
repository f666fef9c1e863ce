import pytest
import scrapy

from newsspider.sina.urls import (
    NotSinaUrl,
    article_docid,
    canonical_article_url,
    from_mirror,
    is_sina_host,
    sina_url,
    to_mirror,
)

MIRROR = "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("url", "mirrored"),
    [
        (
            "https://finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml",
            "http://127.0.0.1:8000/finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml",
        ),
        (
            "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686&num=50&page=1",
            "http://127.0.0.1:8000/feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686&num=50&page=1",
        ),
        (
            "https://finance.sina.com.cn/robots.txt",
            "http://127.0.0.1:8000/finance.sina.com.cn/robots.txt",
        ),
        ("https://finance.sina.com.cn", "http://127.0.0.1:8000/finance.sina.com.cn/"),
    ],
)
def test_mirror_round_trip(url, mirrored):
    assert to_mirror(url, MIRROR) == mirrored
    assert to_mirror(url, MIRROR + "/") == mirrored
    assert from_mirror(mirrored, MIRROR) == (url if url.count("/") > 2 else url + "/")


def test_from_mirror_refuses_foreign_urls():
    assert from_mirror("http://other:1/finance.sina.com.cn/x", MIRROR) is None
    assert from_mirror("http://127.0.0.1:8000/evil.example/x", MIRROR) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("finance.sina.com.cn", True),
        ("feed.mix.sina.com.cn", True),
        ("finance.sina.cn", True),
        ("n.sinaimg.cn", True),
        ("FINANCE.SINA.COM.CN.", True),
        ("notsina.com.cn", False),
        ("sina.com.cn.evil.example", False),
        ("", False),
        (None, False),
    ],
)
def test_is_sina_host(host, expected):
    assert is_sina_host(host) is expected


def test_canonical_article_url():
    assert canonical_article_url(" http://finance.sina.com.cn/a.shtml?from=wap#top ") == (
        "https://finance.sina.com.cn/a.shtml"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://evil.example\\.sina.com.cn/x.shtml", "off_site"),
        ("http://127.0.0.1:9999\\@finance.sina.com.cn/x", "port"),
        ("https://finance.sina.com.cn@evil.example/", "userinfo"),
        ("https://u:p@finance.sina.com.cn/", "userinfo"),
        ("https://finance.sina.com.cn:8080/", "port"),
        ("http://finance.sina.com.cn:443/", "port"),
        ("https://finance.sina.com.cn:x/", "not_a_url"),
        ("https://evil%2Eexample%2F.sina.com.cn/", "bad_host"),
        ("https://finance.sina.com.cn%00.evil/", "bad_host"),
        ("https://finance.sina.com.cn\x00/x", "bad_host"),
        ("https://sina.com.cn\u3002evil.example/", "off_site"),
        ("https://xn--sina-0qa.com.cn/", "off_site"),  # a look-alike in punycode
        ("https://sinа.com.cn/", "off_site"),  # Cyrillic а
        ("https://finance.sina.com.cn.evil.example/", "off_site"),
        ("https://notsina.com.cn/", "off_site"),
        ("https://127.0.0.1/", "bad_host"),
        ("https://[::1]/", "bad_host"),
        ("https://exa[mple.sina.com.cn/", "not_a_url"),
        ("https:finance.sina.com.cn/x", "bad_host"),
        ("ftp://finance.sina.com.cn/", "bad_scheme"),
        ("javascript:alert(1)", "bad_scheme"),
        ("", "not_a_url"),
        (None, "not_a_url"),
        (["https://finance.sina.com.cn/"], "not_a_url"),
    ],
)
def test_sina_url_refuses_what_would_reach_another_host(url, reason):
    with pytest.raises(NotSinaUrl) as info:
        sina_url(url)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("url", "fetched"),
    [
        ("https://FINANCE.sina.com.cn./a b", "https://finance.sina.com.cn/a%20b"),
        ("https://finance.sina.com.cn:443/x?a=1#f", "https://finance.sina.com.cn/x?a=1#f"),
        ("http://finance.sina.com.cn:80", "http://finance.sina.com.cn/"),
        ("https://finance\u3002sina\u3002com\u3002cn/x", "https://finance.sina.com.cn/x"),
        ("https://finance.sina.com.cn\\x", "https://finance.sina.com.cn/x"),
        ("https://财经.sina.com.cn/x", "https://xn--4n0a760a.sina.com.cn/x"),
    ],
)
def test_sina_url_is_the_url_as_scrapy_fetches_it(url, fetched):
    assert sina_url(url) == fetched
    assert scrapy.Request(sina_url(url)).url == fetched


def test_the_urls_docid_wins_over_the_rolls():
    url = "https://finance.sina.com.cn/china/doc-ilasorkf8164852.shtml"
    assert article_docid(url, "comos:zzzzzzz0000000") == "comos:lasorkf8164852"
    assert article_docid("https://finance.sina.com.cn/a.shtml", "comos:abc123") == "comos:abc123"
    assert article_docid("https://finance.sina.com.cn/a.shtml", "../../x") is None
