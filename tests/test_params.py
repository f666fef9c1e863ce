"""Spider arguments: channels, backfill window, explicit URLs."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsspider.commands.channels import channel_table
from newsspider.config import ConfigError
from newsspider.params import CrawlParams
from newsspider.sina.channels import CHANNEL_TABLE, CHANNELS, select_channels
from newsspider.sina.roll import RollEntry, plan_roll_page

BJ = timezone(timedelta(hours=8))


def test_channel_table_covers_the_rolls():
    pairs = {(c.pageid, c.lid) for c in CHANNEL_TABLE}
    assert pairs >= {(155, lid) for lid in (1686, 1687, 1688, 1689, 1690, 3231)}
    assert pairs >= {(384, lid) for lid in (2519, 2671, 2672, 2673, 2674, 2675, 2676, 2487)}
    assert pairs >= {(153, lid) for lid in (2516, 2517, 2518)}
    assert len(CHANNELS) == len(CHANNEL_TABLE)
    assert CHANNELS["china"].title == "新浪财经－国內"
    assert CHANNELS["macro"].title == "新浪财经－宏观经济"
    assert all(c.title.startswith("新浪财经－") for c in CHANNEL_TABLE)


def test_channel_table_text():
    text = channel_table()
    for channel in CHANNEL_TABLE:
        assert channel.name in text and channel.title in text


def test_select_channels_keeps_order_and_drops_repeats():
    assert [c.name for c in select_channels("macro, china,macro")] == ["macro", "china"]
    assert select_channels("all") == CHANNEL_TABLE


def test_defaults():
    params = CrawlParams.parse()
    assert [c.name for c in params.channels] == ["china"]
    assert params.pages == 1
    assert params.num == 50
    assert params.since is None and params.until is None and params.urls == ()


def test_since_makes_pages_unbounded_unless_given():
    assert CrawlParams.parse(since="2024-01-01").pages is None
    assert CrawlParams.parse(since="2024-01-01", pages="3").pages == 3


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-01-01", datetime(2024, 1, 1, tzinfo=BJ)),
        ("2024-01-01T08:30", datetime(2024, 1, 1, 8, 30, tzinfo=BJ)),
        ("2024-01-01T08:30+00:00", datetime(2024, 1, 1, 8, 30, tzinfo=UTC)),
    ],
)
def test_window_dates(text, moment):
    assert CrawlParams.parse(since=text).since == moment
    assert CrawlParams.parse(until=text).until == moment


def test_url_file(tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "# articles to archive\n"
        "https://finance.sina.com.cn/a/doc-iaaaaaaa1.shtml\n\n"
        "http://finance.sina.com.cn/b/doc-ibbbbbbb2.shtml  # a note\n"
        "https://finance.sina.com.cn/a/doc-iaaaaaaa1.shtml\n",
        encoding="utf-8",
    )
    params = CrawlParams.parse(
        url_file=str(listing), urls="https://news.sina.com.cn/c/x.shtml?from=wap#top"
    )
    assert params.urls == (
        "https://news.sina.com.cn/c/x.shtml",
        "https://finance.sina.com.cn/a/doc-iaaaaaaa1.shtml",
        "https://finance.sina.com.cn/b/doc-ibbbbbbb2.shtml",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": "china,nope"}, "unknown channel 'nope'; valid channels: china, macro"),
        ({"channels": ""}, "no channel named"),
        ({"since": "yesterday"}, "-a since=yesterday is not a date"),
        ({"since": "2024-02-01", "until": "2024-01-01"}, "since is later than -a until"),
        (
            {"urls": "https://example.com/x.html"},
            "not a Sina URL, refused: https://example.com/x.html",
        ),
        ({"urls": "ftp://finance.sina.com.cn/x"}, "not a Sina URL"),
        ({"urls": "https://evil.example\\.sina.com.cn/x.shtml"}, "not a Sina URL"),
        ({"urls": "http://127.0.0.1:9999\\@finance.sina.com.cn/x.shtml"}, "not a Sina URL"),
        ({"urls": "https://finance.sina.com.cn:8080/x.shtml"}, "not a Sina URL"),
        ({"urls": "https://a@finance.sina.com.cn/x.shtml"}, "not a Sina URL"),
        (
            {"urls": "https://finance.sina.com.cn/x.shtml", "since": "2024-01-01"},
            "since/until .* do not apply to urls",
        ),
        (
            {"urls": "https://finance.sina.com.cn/x.shtml", "until": "2024-01-01"},
            "since/until .* do not apply to urls",
        ),
        ({"urls": " , "}, "name no URL"),
        ({"urls": "https://finance.sina.com.cn/x.shtml", "channels": "china,macro"}, "one channel"),
        ({"url_file": "/nonexistent/urls.txt"}, "cannot be read"),
        ({"pages": "0"}, "-a pages=0"),
        ({"num": "abc"}, "-a num=abc"),
        ({"colour": "red"}, "unknown argument colour"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        CrawlParams.parse(**kwargs)


def test_scrapyd_arguments_pass():
    assert CrawlParams.parse(_job="abc").pages == 1


def entry(hour):
    moment = None if hour is None else datetime(2024, 1, 1, hour, tzinfo=UTC)
    return RollEntry(f"https://finance.sina.com.cn/{hour}.shtml", "t", None, moment, None, None)


def test_plan_roll_page_windows():
    page = [entry(9), entry(7), entry(None), entry(5), entry(3)]
    since = datetime(2024, 1, 1, 4, tzinfo=UTC)
    until = datetime(2024, 1, 1, 8, tzinfo=UTC)
    plan = plan_roll_page(page, since, until)
    assert [e.url for e in plan.fetch] == [entry(7).url, entry(None).url, entry(5).url]
    assert (plan.too_new, plan.too_old, plan.more) == (1, 1, False)
    assert plan.oldest == datetime(2024, 1, 1, 3, tzinfo=UTC)
    assert plan_roll_page(page[:2], since, until).more is True
    assert plan_roll_page([], since, until).more is False
    open_window = plan_roll_page(page, None, None)
    assert len(open_window.fetch) == 5 and open_window.more
