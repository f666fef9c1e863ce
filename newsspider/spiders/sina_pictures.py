"""``sina_pictures``: fetch the pictures of the archive's posts that are not stored yet.

Usually started with ``scrapy archive_images --retry`` (see
``newsspider.commands.archive_images``). The spider lists no page: every crawl with pictures on
(``ARCHIVE_IMAGES=save|local``) begins by asking for the pictures the archive's posts show and
no run has stored (:class:`newsspider.pipelines.images.PicturePipeline`), and this crawl is that
step alone. It ends once those requests are answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy


class SinaPicturesSpider(scrapy.Spider):
    """Lists nothing; the pictures pipeline does the crawl's work (see the module docstring)."""

    name = "sina_pictures"

    async def start(self) -> AsyncIterator[Any]:
        return
        yield  # an async generator that yields nothing
