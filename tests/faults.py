"""Faults injected into real crawls: a spider callback and an item pipeline that raise what
nobody foresaw, for the pages whose URL holds ``boom-callback`` or ``boom-pipeline``.

Used with ``-s SPIDER_MODULES=newsspider.spiders,tests.faults`` and this module's pipeline
added to ``ITEM_PIPELINES``.
"""

from __future__ import annotations

from typing import Any

from newsspider.spiders.sina_finance import SinaFinanceSpider


class FaultySpider(SinaFinanceSpider):
    """``sina_finance`` whose article callback raises for ``boom-callback`` pages."""

    name = "sina_finance_faulty"

    def parse_article(self, response: Any, **kwargs: Any) -> Any:
        if "boom-callback" in response.url:
            raise ZeroDivisionError("a bug in a callback")
        yield from super().parse_article(response, **kwargs)


class FaultyPipeline:
    """Raises for the items of ``boom-pipeline`` pages."""

    def process_item(self, item: Any) -> Any:
        if "boom-pipeline" in getattr(item, "url", ""):
            raise KeyError("a bug in a pipeline")
        return item


class NoNetworkHandler:
    """A download handler that must never be reached (``SINA_MIRROR_INNER_HANDLER``)."""

    lazy = False
    calls: list[str] = []  # noqa: RUF012 (test bookkeeping, read by the test)

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> NoNetworkHandler:
        return cls(crawler)

    async def download_request(self, request: Any) -> Any:
        self.calls.append(request.url)
        raise AssertionError(f"a request reached the network: {request.url}")

    async def close(self) -> None:
        return None
