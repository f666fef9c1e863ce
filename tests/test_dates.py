from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsspider.sina.dates import from_unix, parse_chinese, parse_iso, rfc1123

BJ = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1639380850", datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC)),
        (1639380850, datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC)),
        (" 1639380850 ", datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC)),
        ("1639380850.9", datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC)),
        ("", None),
        ("abc", None),
        (None, None),
        (True, None),
        ([], None),
        ("-5", None),
        ("99999999999999", None),
    ],
)
def test_from_unix(value, expected):
    assert from_unix(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-12-13T15:34:10+08:00", datetime(2021, 12, 13, 15, 34, 10, tzinfo=BJ)),
        ("2005-08-26 05:39:00", datetime(2005, 8, 26, 5, 39, tzinfo=BJ)),
        ("2021-12-13T07:34:10Z", datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_iso(text, expected):
    assert parse_iso(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021年12月13日 15:34", datetime(2021, 12, 13, 15, 34, tzinfo=BJ)),
        ("2016年05月25日10:10", datetime(2016, 5, 25, 10, 10, tzinfo=BJ)),
        ("2016年5月2日", datetime(2016, 5, 2, tzinfo=BJ)),
        ("2021年13月40日 15:34", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_chinese(text, expected):
    assert parse_chinese(text) == expected


def test_rfc1123_is_utc_and_locale_free():
    moment = datetime(2021, 12, 13, 15, 34, 10, tzinfo=BJ)
    assert rfc1123(moment) == "Mon, 13 Dec 2021 07:34:10 GMT"
    assert rfc1123(datetime(2022, 5, 16, 2, 27, 46, tzinfo=UTC)) == "Mon, 16 May 2022 02:27:46 GMT"
