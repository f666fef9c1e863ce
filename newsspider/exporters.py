"""The Hexo post exporter: one item in, one archive post out."""

from __future__ import annotations

from typing import IO, Any

from itemadapter import ItemAdapter
from scrapy.exporters import BaseItemExporter

from newsspider.archive.front_matter import Plain, Raw, render_front_matter
from newsspider.sina.dates import rfc1123


def render_post(item: Any) -> str:
    """The whole post for a normalized item, in the archive's exact format.

    Needs the post fields the pipelines set: ``title``, ``categories``, ``author``,
    ``comments``, ``date``, ``headimg`` and ``body``.
    """
    adapter = ItemAdapter(item)
    missing = [k for k in ("title", "date", "body") if adapter.get(k) is None]
    if missing:
        raise ValueError(f"item is not normalized, missing {', '.join(missing)}")
    metadata = {
        "title": adapter["title"],
        "categories": list(adapter["categories"]),
        "headimg": adapter["headimg"],
        "author": Plain(adapter["author"] or ""),
        "comments": bool(adapter["comments"]),
        "date": Raw(rfc1123(adapter["date"])),
        "thumbnail": adapter["headimg"],
    }
    return render_front_matter(metadata, adapter["body"])


class HexoPostExporter(BaseItemExporter):
    """Writes each exported item as one Hexo post (UTF-8) to the file it was given."""

    def __init__(self, file: IO[bytes], **kwargs: Any) -> None:
        super().__init__(dont_fail=True, **kwargs)
        self.file = file

    def export_item(self, item: Any) -> None:
        self.file.write(render_post(item).encode(self.encoding or "utf-8"))
