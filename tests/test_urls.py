import pytest

from newsspider.sina.urls import canonical_article_url, from_mirror, is_sina_host, to_mirror

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
    assert canonical_article_url(" http://finance.sina.com.cn/a.shtml#top ") == (
        "https://finance.sina.com.cn/a.shtml"
    )
