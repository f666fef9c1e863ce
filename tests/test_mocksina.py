"""Tests for the in-process mock Sina server (tests/utils/mocksina.py)."""

from __future__ import annotations

import json
import pathlib
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from utils.mocksina import MockSina

DATA = pathlib.Path(__file__).parent / "data" / "sina"
GOLDEN = DATA / "golden"
SEED = GOLDEN / "20211213_gongxinbu_seed"
ROLL_URL = "https://feed.mix.sina.com.cn/api/roll/get"


def fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """GET ``url``; return (status, headers, body) without following redirects or raising."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers.items()), err.read()


def roll(mock: MockSina, query: str, url: str = ROLL_URL) -> dict[str, Any]:
    status, headers, body = fetch(mock.mirror_url(f"{url}?{query}"))
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    result: dict[str, Any] = json.loads(body.decode("utf-8"))["result"]
    return result


@pytest.fixture
def mock() -> Iterator[MockSina]:
    with MockSina.from_golden(GOLDEN) as m:
        yield m


def test_golden_page_byte_identical(mock: MockSina) -> None:
    url = json.loads((SEED / "meta.json").read_text("utf-8"))["url"]
    status, headers, body = fetch(mock.mirror_url(url + "?from=roll"))
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == (SEED / "page.html").read_bytes()
    status, headers, body = fetch(mock.mirror_url(url), method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str((SEED / "page.html").stat().st_size)


def test_unknown_path_and_robots_404(mock: MockSina) -> None:
    assert fetch(mock.base_url + "/finance.sina.com.cn/nope.shtml")[0] == 404
    assert fetch(mock.base_url + "/finance.sina.com.cn/robots.txt")[0] == 404
    mock.add_page(
        "https://finance.sina.com.cn/robots.txt", "User-agent: *\n", content_type="text/plain"
    )
    status, _, body = fetch(mock.base_url + "/finance.sina.com.cn/robots.txt")
    assert (status, body) == (200, b"User-agent: *\n")


def test_roll_pagination_newest_first(mock: MockSina) -> None:
    expected = json.loads((DATA / "roll" / "155-1686.json").read_text("utf-8"))
    pages = [roll(mock, f"pageid=155&lid=1686&num=3&page={n}&k=&r=0.5") for n in (1, 2, 3, 4)]
    assert [len(p["data"]) for p in pages] == [3, 3, 2, 0]
    assert all(p["total"] == 8 and p["status"] == {"code": 0, "msg": "succ"} for p in pages)
    got = [item for p in pages for item in p["data"]]
    assert got == expected
    intimes = [int(item["intime"]) for item in got]
    assert intimes == sorted(intimes, reverse=True)
    assert len(roll(mock, "pageid=155&lid=1686")["data"]) == 8  # num defaults to 10


def test_roll_envelope_and_unknown_pair(mock: MockSina) -> None:
    _, _, body = fetch(mock.mirror_url(ROLL_URL + "?pageid=1&lid=2"))
    assert body.decode("utf-8") == (
        '{"result":{"status":{"code":0,"msg":"succ"},'
        '"timestamp":"Mon Dec 13 15:34:10 +0800 2021","total":0,"data":[]}}'
    )
    assert "工信部" in fetch(mock.mirror_url(ROLL_URL + "?pageid=155&lid=1686"))[2].decode("utf-8")


def test_roll_num_clamped_to_50() -> None:
    items = json.loads((DATA / "roll" / "153-2516.json").read_text("utf-8"))
    assert len(items) == 151
    with MockSina() as m:
        m.set_roll(153, 2516, items)
        pages = [roll(m, f"pageid=153&lid=2516&num=100&page={n}") for n in range(1, 6)]
        assert [len(p["data"]) for p in pages] == [50, 50, 50, 1, 0]
        assert [i for p in pages for i in p["data"]] == items
        assert len(roll(m, "pageid=153&lid=2516&num=0")["data"]) == 1


def test_both_roll_hosts_same_answer(mock: MockSina) -> None:
    query = "pageid=155&lid=1686&num=5&page=2"
    other = "https://feed.sina.com.cn/api/roll/get"
    assert (
        fetch(mock.mirror_url(f"{ROLL_URL}?{query}"))[2]
        == fetch(mock.mirror_url(f"{other}?{query}"))[2]
    )


def test_callback_wrapping(mock: MockSina) -> None:
    query = "?pageid=155&lid=1686&num=2&callback=jQuery123_456"
    status, headers, body = fetch(mock.mirror_url(ROLL_URL + query))
    assert status == 200
    assert headers["Content-Type"].startswith("application/javascript")
    text = body.decode("utf-8")
    assert text.startswith("try{jQuery123_456(")
    assert text.endswith(");}catch(e){};")
    inner = json.loads(text[len("try{jQuery123_456(") : -len(");}catch(e){};")])
    assert len(inner["result"]["data"]) == 2


def test_set_roll_raw_overrides_one_page(mock: MockSina) -> None:
    mock.set_roll_raw(155, 1686, 2, "<html>busy</html>", content_type="text/html")
    mock.set_roll_raw(155, 1686, 3, b'{"result":{"status":{"code":1')
    status, headers, body = fetch(mock.mirror_url(ROLL_URL + "?pageid=155&lid=1686&num=3&page=2"))
    assert (status, headers["Content-Type"], body) == (200, "text/html", b"<html>busy</html>")
    assert fetch(mock.mirror_url(ROLL_URL + "?pageid=155&lid=1686&page=3"))[2].endswith(b'code":1')
    assert len(roll(mock, "pageid=155&lid=1686&num=3&page=1")["data"]) == 3


def test_redirect_location_rewritten(mock: MockSina) -> None:
    old = "https://finance.sina.com.cn/old.shtml"
    new = "https://finance.sina.cn/china/2021-12-13/detail-x.d.html?vt=4"
    mock.add_redirect(old, new, status=301)
    status, headers, _ = fetch(mock.mirror_url(old))
    assert status == 301
    mirror = "/finance.sina.cn/china/2021-12-13/detail-x.d.html?vt=4"
    assert headers["Location"] == mock.base_url + mirror


def test_conditional_requests(mock: MockSina) -> None:
    url = "https://finance.sina.com.cn/china/2021-12-13/doc-cond.shtml"
    lm = "Mon, 13 Dec 2021 07:34:10 GMT"
    mock.add_page(
        url,
        "旧闻".encode("gbk"),
        headers={"ETag": '"abc"', "Last-Modified": lm, "Content-Type": "text/html; charset=gbk"},
    )
    status, headers, body = fetch(mock.mirror_url(url))
    assert (status, body) == (200, "旧闻".encode("gbk"))
    assert headers["Content-Type"] == "text/html; charset=gbk"
    assert headers["ETag"] == '"abc"'
    status, headers, body = fetch(mock.mirror_url(url), {"If-None-Match": '"abc"'})
    assert (status, body, headers["ETag"]) == (304, b"", '"abc"')
    assert fetch(mock.mirror_url(url), {"If-None-Match": '"zzz"'})[0] == 200
    mock.add_page(url, "x", headers={"Last-Modified": lm})
    assert fetch(mock.mirror_url(url), {"If-Modified-Since": lm})[0] == 304
    assert fetch(mock.mirror_url(url), {"If-Modified-Since": "Tue, 14 Dec 2021"})[0] == 200


def test_count_and_requests(mock: MockSina) -> None:
    url = json.loads((SEED / "meta.json").read_text("utf-8"))["url"]
    assert mock.count(url) == 0
    fetch(mock.mirror_url(url))
    fetch(mock.mirror_url(url + "?a=1"))
    fetch(mock.mirror_url(ROLL_URL + "?pageid=155&lid=1686"))
    path = mock.mirror_path(url)
    assert path == "/finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml"
    assert mock.count(url) == mock.count(path) == mock.count(mock.base_url + path) == 2
    assert mock.count(url + "?a=1") == 1
    assert mock.count(ROLL_URL) == 1
    roll_target = "/feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686"
    assert mock.requests == [path, path + "?a=1", roll_target]
