import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsspider.sina.roll import RollError, parse_entry, parse_roll
from newsspider.sina.urls import canonical_article_url, roll_api_url

from utils.content import DATA


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
    assert page.entries == []


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
    assert entry.docid == "comos:lasorkf8164852"  # the URL's own id, whatever the roll says


def test_rejected_items_do_not_stop_the_page():
    items = [*golden_items()[:2], {"title": "no url"}, {"url": "https://finance.sina.com.cn/x"}]
    page = parse_roll(envelope(items))
    assert len(page.entries) == 2
    assert sorted(page.rejected) == ["no_title", "no_url"]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\.sina.com.cn/x.shtml",  # WHATWG: the backslash ends the host
        "http://127.0.0.1:9999\\@finance.sina.com.cn/doc-iabcdefg1234567.shtml",
        "https://user@finance.sina.com.cn/a.shtml",
        "https://finance.sina.com.cn@evil.example/a.shtml",
        "https://finance.sina.com.cn:8443/a.shtml",
        "https://evil%2Eexample%2F.sina.com.cn/a.shtml",
        "https://sina.com.cn\u3002evil.example/a.shtml",  # an ideographic full stop is a dot
        "https://finance.sina.com.cn.evil.example/a.shtml",
        "https://evilsina.com.cn/a.shtml",
        "https://[::1]/a.shtml",
        "https://exa[mple.sina.com.cn/a.shtml",
        "https://127.0.0.1/a.shtml",
        "ftp://finance.sina.com.cn/a.shtml",
        "//finance.sina.com.cn/a.shtml",
    ],
)
def test_url_tricks_are_refused_items(url):
    assert parse_entry({"url": url, "title": "x"}) in ("off_site_url", "bad_url")


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTPS://FINANCE.SINA.COM.CN./china/doc-iabcdefg1234567.shtml?from=wap#top",
            "https://finance.sina.com.cn/china/doc-iabcdefg1234567.shtml",
        ),
        (
            "https://finance.sina.com.cn:443/china/doc-iabcdefg1234567.shtml",
            "https://finance.sina.com.cn/china/doc-iabcdefg1234567.shtml",
        ),
        (
            "https://\uff46inance.sina.com.cn/a.shtml",  # full-width letters are the real host
            "https://finance.sina.com.cn/a.shtml",
        ),
    ],
)
def test_sina_urls_are_canonical(url, canonical):
    entry = parse_entry({"url": url, "title": "x"})
    assert not isinstance(entry, str)
    assert entry.url == canonical


def item(**values):
    return {
        "url": "https://finance.sina.com.cn/china/doc-iabcdefg1234567.shtml",
        "title": "t",
        **values,
    }


@pytest.mark.parametrize(
    "values",
    [
        {"intime": "9" * 400},
        {"intime": 10**400},
        {"intime": 1e308},
        {"intime": float("nan")},
        {"intime": [1, 2]},
        {"mtime": {"a": 1}},
        {"intime": True},
        {"docid": ["comos:x"]},
        {"media_name": 12},
        {"title": {"x": 1}},
        {"url": ["https://finance.sina.com.cn/a.shtml"]},
        {"url": 12},
    ],
)
def test_values_of_any_type_or_size_cost_at_most_the_item(values):
    page = parse_roll(envelope([item(**values), golden_items()[0]]))
    assert len(page.entries) + len(page.rejected) == 2
    assert page.entries[-1].url == canonical_article_url(golden_items()[0]["url"])


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"result": {"status": {"code": "9" * 400}, "data": []}}),
        json.dumps({"result": {"status": {"code": 10**400}, "data": []}}),
        json.dumps({"result": {"status": {"code": [0]}, "data": []}}),
        json.dumps({"result": {"status": "ok", "data": []}}),
        "[" * 100_000 + "]" * 100_000,
        '{"result": ' * 100_000 + "1" + "}" * 100_000,
        "cb(" + "[" * 100_000 + "]" * 100_000 + ")",
        "1" * 5000,
    ],
)
def test_hostile_envelopes_cost_the_page_with_a_reason(text):
    with pytest.raises(RollError):
        parse_roll(text)


def test_a_lone_surrogate_in_a_title_is_repaired_and_reported():
    text = envelope([item(title="半个\ud83d字", media_name="\udc00源"), golden_items()[0]])
    page = parse_roll(text)
    assert page.entries[0].title == "半个\ufffd字"
    assert page.entries[0].media_name == "\ufffd源"
    assert page.repaired == [page.entries[0].url]
    page.entries[0].title.encode("utf-8")  # encodable now


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
item_fields = st.sampled_from(["url", "title", "docid", "intime", "mtime", "media_name", "img"])


@settings(max_examples=300, deadline=None)
@given(
    result=st.dictionaries(st.sampled_from(["status", "data", "total"]), json_values),
    items=st.lists(st.dictionaries(item_fields, json_values), max_size=5),
)
def test_any_json_is_a_page_or_a_roll_error(result, items):
    for payload in ({"result": result}, {"result": {"status": {"code": 0}, "data": items}}):
        try:
            page = parse_roll(json.dumps(payload))
        except RollError:
            continue
        for entry in page.entries:
            assert entry.url.startswith("https://")
            entry.title.encode("utf-8")
