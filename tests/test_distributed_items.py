"""Items as the distributed workers hand them to the writer."""

import dataclasses
from datetime import UTC, datetime

import pytest

from newsspider.distributed.items import decode_item, encode_item
from newsspider.items import ArticleCheck

from utils.content import GOLDENS
from utils.items import entry_of, fetched


def test_items_survive_the_trip_through_redis():
    for golden in GOLDENS:
        page = fetched(golden)
        assert decode_item(encode_item(page)) == page
    odd = dataclasses.replace(
        fetched(GOLDENS[0], "<p>\udcff</p>".encode("utf-8", "surrogatepass") + b"\xff\x00"),
        entry=dataclasses.replace(
            entry_of(GOLDENS[0]), title="标题 {x} 'q' \\ \u2028", mtime=None, media_name=None
        ),
        encoding="gb18030",
        etag='"v1"',
    )
    assert decode_item(encode_item(odd)) == odd
    unlisted = fetched(GOLDENS[1], listed=False)
    assert decode_item(encode_item(unlisted)) == unlisted
    item = unlisted
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
        '{"type": "page", "fields": {"url": "u"}}',
        '{"type": "page", "fields": {"body": "!!", "encoding": "utf-8"}}',
        '{"type": "page", "fields": {"body": "", "encoding": 1}}',
        '{"type": "page", "fields": {"body": "", "encoding": "utf-8", "entry": {"url": 1}}}',
    ],
)
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError, match="not an encoded item"):
        decode_item(text)
