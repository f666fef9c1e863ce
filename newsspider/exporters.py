"""The Hexo post exporter: Scrapy's face of the archive's post format.

The post of an article is rendered once, with the rest of its work, in a worker process
(:func:`newsspider.post.render_post`, called by :func:`newsspider.post.build_post`); the
exporter writes what that gave. Register it as a feed format to write posts elsewhere, e.g.
``FEED_EXPORTERS = {"hexo": "newsspider.exporters.HexoPostExporter"}``.
"""

from __future__ import annotations

from typing import IO, Any

from scrapy.exporters import BaseItemExporter

from newsspider.items import ArticleItem


class HexoPostExporter(BaseItemExporter):
    """Writes each exported :class:`~newsspider.items.ArticleItem` as its Hexo post (UTF-8)
    to the file it was given; other items are not posts (``TypeError``)."""

    def __init__(self, file: IO[bytes], **kwargs: Any) -> None:
        super().__init__(dont_fail=True, **kwargs)
        self.file = file

    def export_item(self, item: Any) -> None:
        if not isinstance(item, ArticleItem):
            raise TypeError(f"not an archive item: {type(item).__name__}")
        self.file.write(item.post)
