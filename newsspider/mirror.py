"""``SINA_MIRROR``: send every request for a Sina host to a mirror, keep the real URLs.

A request for ``https://HOST/PATH?QUERY`` goes to ``MIRROR/HOST/PATH?QUERY``; the response comes
back under the real URL, so everything downstream (robots.txt, redirects, links, the archive)
sees what the real host would give. Rewriting at the download handler keeps download slots,
AutoThrottle and robots.txt keyed by the real host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object

from newsspider.config import parse_mirror
from newsspider.sina.urls import from_mirror, is_sina_host, to_mirror

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

DEFAULT_INNER_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"


class MirrorDownloadHandler(BaseDownloadHandler):
    """HTTP(S) download handler that serves Sina hosts from ``SINA_MIRROR`` when it is set.

    Other hosts, and every host when ``SINA_MIRROR`` is empty, go straight to the inner
    handler (``SINA_MIRROR_INNER_HANDLER``, Scrapy's HTTP/1.1 handler by default).
    """

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.mirror = parse_mirror(crawler.settings.get("SINA_MIRROR"))
        inner_cls = load_object(
            crawler.settings.get("SINA_MIRROR_INNER_HANDLER") or DEFAULT_INNER_HANDLER
        )
        self._inner: Any = build_from_crawler(inner_cls, crawler)

    async def download_request(self, request: Request) -> Response:
        if not self.mirror or not is_sina_host(urlparse_cached(request).hostname):
            response: Response = await self._inner.download_request(request)
            return response
        mirrored = request.replace(url=to_mirror(request.url, self.mirror))
        response = await self._inner.download_request(mirrored)
        headers = response.headers.copy()
        location = headers.get(b"Location")
        if location:
            real = from_mirror(location.decode("latin-1"), self.mirror)
            if real is not None:
                headers[b"Location"] = real.encode("latin-1")
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("sina/mirror/requests")
        return response.replace(url=request.url, headers=headers, request=request)

    async def close(self) -> None:
        await self._inner.close()
