"""Items as the distributed workers hand them to the writer."""

from datetime import UTC, datetime

import pytest

from newsspider.distributed.items import decode_item, encode_item
from newsspider.items import ArticleCheck, ArticleItem


def test_items_survive_the_trip_through_redis():
    item = ArticleItem(
        url="https://finance.sina.com.cn/china/doc-iabc1234567.shtml",
        channel="china",
        docid="comos:abc1234567",
        roll_title="标题 {x} 'q' \\",
        page_title=None,
        listed_at=datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC),
        updated_at=None,
        published_at=datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC),
        displayed_at=None,
        source="新华社",
        body_html="<p>正文</p>",
        template="finance",
        etag='"v1"',
    )
    assert decode_item(encode_item(item)) == item
    check = ArticleCheck(item.url, "gone", updated_at=datetime(2022, 1, 1, tzinfo=UTC))
    assert decode_item(encode_item(check)) == check


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        "[1]",
        '{"type": "bomb", "fields": {}}',
        '{"type": "check", "fields": 1}',
        '{"type": "check", "fields": {"url": "u", "status": "gone", "extra": 1}}',
        '{"type": "check", "fields": {"url": "u", "status": "gone", "updated_at": "soon"}}',
    ],
)
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError, match="not an encoded item"):
        decode_item(text)
