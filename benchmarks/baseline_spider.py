"""The benchmark's baseline: a plain Scrapy spider over the same mirror, doing nothing per article.

It reads the same roll pages in the same order as ``sina_finance`` (channel after channel, the
next page requested once the previous one is parsed, roll requests at priority -1 so articles go
first) and requests every article they list, with a no-op callback. It asks the mirror directly
(``MIRROR/HOST/PATH``), with Scrapy's own download handler and no project settings::

    scrapy runspider benchmarks/baseline_spider.py -a mirror=http://127.0.0.1:8000 \
        -a lists=155:1686,155:1687,384:2672 -a pages=14 -a num=50
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

ROLL_API = "feed.mix.sina.com.cn/api/roll/get"


class BaselineSpider(scrapy.Spider):
    name = "baseline"

    def __init__(
        self, mirror: str, lists: str, pages: str = "1", num: str = "50", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.mirror = mirror.rstrip("/")
        self.lists = [tuple(part.split(":")) for part in lists.split(",")]
        self.pages = int(pages)
        self.num = int(num)

    def roll_request(self, list_index: int, page: int) -> scrapy.Request:
        pageid, lid = self.lists[list_index]
        query = urlencode({"pageid": pageid, "lid": lid, "num": self.num, "page": page})
        return scrapy.Request(
            f"{self.mirror}/{ROLL_API}?{query}",
            callback=self.parse_roll,
            cb_kwargs={"list_index": list_index, "page": page},
            dont_filter=True,
            priority=-1,
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self.roll_request(0, 1)

    def parse_roll(self, response: Response, list_index: int, page: int) -> Iterator[Any]:
        data = json.loads(response.body)["result"]["data"]
        for item in data:
            url = item["url"].split("://", 1)[1]
            yield scrapy.Request(f"{self.mirror}/{url}", callback=self.parse_article)
        if data and page < self.pages:
            yield self.roll_request(list_index, page + 1)
        elif list_index + 1 < len(self.lists):
            yield self.roll_request(list_index + 1, 1)

    def parse_article(self, response: Response) -> None:
        """No-op: the baseline measures Scrapy's own cost per article."""
