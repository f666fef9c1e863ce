import json
from datetime import UTC, datetime

import pytest

from newsspider.sina.roll import RollError, parse_entry, parse_roll
from newsspider.sina.urls import roll_api_url

from conftest import DATA


def envelope(data, code=0, total=None):
    return json.dumps(
        {"result": {"status": {"code": code, "msg": "succ"}, "total": total, "data": data}},
        ensure_ascii=False,
    )


def golden_items():
    return json.loads((DATA / "roll" / "155-1686.json").read_text(encoding="utf-8"))


def test_roll_api_url():
    assert roll_api_url(155, 1686, 50, 2) == (
        "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686&num=50&page=2"
    )


def test_parses_the_golden_roll():
    page = parse_roll(envelope(golden_items(), total=8))
    assert page.total == 8
    assert page.rejected == []
    assert len(page.entries) == 8
    first = page.entries[0]
    assert first.url.startswith("https://finance.sina.com.cn/china/")
    assert first.intime is not None and first.intime.tzinfo is UTC


def test_parses_151_real_items_with_both_img_shapes():
    items = json.loads((DATA / "roll" / "153-2516.json").read_text(encoding="utf-8"))
    assert {type(item["img"]) for item in items} == {dict, list}
    page = parse_roll(envelope(items))
    assert len(page.entries) == 151
    assert page.rejected == []


def test_jsonp_is_unwrapped():
    text = f"try{{jQuery123_456({envelope(golden_items())});}}catch(e){{}};"
    assert len(parse_roll(text).entries) == 8
    assert len(parse_roll(f"cb({envelope(golden_items())})").entries) == 8


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<html><body>502 Bad Gateway</body></html>", "not_json"),
        (envelope(golden_items())[:500], "bad_json"),
        ('try{cb({"result": );}catch(e){};', "bad_json"),
        (envelope([], code=1), "status_code"),
        (json.dumps({"result": {"status": {"code": "11", "msg": "bad"}}}), "status_code"),
        (json.dumps({"nothing": 1}), "bad_envelope"),
        (json.dumps([1, 2]), "bad_envelope"),
        (json.dumps({"result": {"status": {"code": 0}, "data": "x"}}), "bad_envelope"),
        ("", "bad_json"),
    ],
)
def test_unusable_answers_raise_with_reason(text, reason):
    with pytest.raises(RollError) as info:
        parse_roll(text)
    assert info.value.reason == reason


def test_status_code_as_string_zero_is_fine():
    text = json.dumps({"result": {"status": {"code": "0"}, "data": golden_items()}})
    assert len(parse_roll(text).entries) == 8


def test_missing_data_is_an_empty_page():
    page = parse_roll(json.dumps({"result": {"status": {"code": 0}, "total": "0"}}))
    assert page.entries == [] and page.total == 0


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"title": "x"}, "no_url"),
        ({"url": "", "title": "x"}, "no_url"),
        ({"url": "https://finance.sina.com.cn/a.shtml"}, "no_title"),
        ({"url": "https://finance.sina.com.cn/a.shtml", "title": "  "}, "no_title"),
        ({"url": "javascript:alert(1)", "title": "x"}, "bad_url"),
        ({"url": "https://evil.example/a.shtml", "title": "x"}, "off_site_url"),
        ("not an object", "not_an_object"),
        (None, "not_an_object"),
    ],
)
def test_bad_items_are_rejected_with_reason(item, reason):
    assert parse_entry(item) == reason


def test_numbers_may_be_strings_or_numbers_and_http_becomes_https():
    entry = parse_entry(
        {
            "url": "http://finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml#x",
            "title": " 标题 ",
            "intime": 1639380850,
            "mtime": "bad",
            "img": {},
            "docid": 123,
        }
    )
    assert not isinstance(entry, str)
    assert entry.url == "https://finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml"
    assert entry.title == "标题"
    assert entry.intime == datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC)
    assert entry.mtime is None
    assert entry.docid == "123"


def test_rejected_items_do_not_stop_the_page():
    items = [*golden_items()[:2], {"title": "no url"}, {"url": "https://finance.sina.com.cn/x"}]
    page = parse_roll(envelope(items))
    assert len(page.entries) == 2
    assert sorted(page.rejected) == ["no_title", "no_url"]
