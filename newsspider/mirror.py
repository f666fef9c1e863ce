"""The download handler: only Sina is ever contacted; ``SINA_MIRROR`` serves it from a mirror.

Every request passes here on its way out, whatever produced it (spiders, redirects, robots.txt),
so this is the last line of the rule that nothing but Sina is contacted: a request whose URL is
not Sina's (:func:`~newsspider.sina.urls.sina_url`) fails with ``OffSiteRequest`` before any
connection is made. A picture request (marked by the pictures pipeline with
:data:`~newsspider.archive.pictures.PICTURE_META`) may go to the picture hosts of
``ARCHIVE_IMAGES_HOSTS`` instead, and only there; it leaves without a ``Referer``.

A request for ``https://HOST/PATH?QUERY`` goes to ``MIRROR/HOST/PATH?QUERY``; the response comes
back under the real URL, so everything downstream (robots.txt, redirects, links, the archive)
sees what the real host would give. Rewriting at the download handler keeps download slots,
AutoThrottle and robots.txt keyed by the real host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.exceptions import DownloadCancelledError
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.internet.defer import CancelledError

from newsspider.archive.pictures import PICTURE_META, NotPictureUrl, picture_url
from newsspider.config import Config
from newsspider.failures import OffSiteRequest, ResponseTooLarge
from newsspider.sina.urls import NotSinaUrl, from_mirror, sina_url, to_mirror
from newsspider.stats import IMAGES_REQUESTS

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response


class MirrorDownloadHandler(BaseDownloadHandler):
    """HTTP(S) download handler for Sina hosts only, served from ``SINA_MIRROR`` when it is set.

    Requests go to the inner handler, ``SINA_MIRROR_INNER_HANDLER`` (Scrapy's HTTP/1.1 handler
    unless set). A request for any other host fails with ``OffSiteRequest``; a download over
    ``DOWNLOAD_MAXSIZE`` fails with ``ResponseTooLarge``, with or without a Content-Length.
    A picture request (meta :data:`~newsspider.archive.pictures.PICTURE_META`) is let through
    to exactly the hosts of ``ARCHIVE_IMAGES_HOSTS`` (Sina's or not), under the same URL rules,
    and sent without a ``Referer`` header. Stats: ``sina/mirror/requests``,
    ``sina/refused/off_site``, ``images/requests`` (picture requests sent, retries too).
    """

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        config = Config.of(crawler).sina
        self.mirror = config.mirror
        inner_cls = load_object(config.mirror_inner_handler)
        self._inner: Any = build_from_crawler(inner_cls, crawler)
        self._maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self._picture_hosts = Config.of(crawler).images.hosts

    async def download_request(self, request: Request) -> Response:
        sent = request
        if request.meta.get(PICTURE_META):
            sent = self._picture_request(request)
        else:
            try:
                sina_url(request.url)
            except NotSinaUrl as exc:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("sina/refused/off_site")
                raise OffSiteRequest(f"not a Sina URL, not fetched ({exc.reason})") from None
        if not self.mirror:
            response = await self._fetch(sent)
            return response if sent is request else response.replace(request=request)
        mirrored = sent.replace(url=to_mirror(request.url, self.mirror))
        response = await self._fetch(mirrored)
        headers = response.headers.copy()
        location = headers.get(b"Location")
        if location:
            real = from_mirror(location.decode("latin-1"), self.mirror)
            if real is not None:
                headers[b"Location"] = real.encode("latin-1")
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("sina/mirror/requests")
        return response.replace(url=request.url, headers=headers, request=request)

    def _picture_request(self, request: Request) -> Request:
        try:
            picture_url(request.url, self._picture_hosts)
        except NotPictureUrl as exc:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("sina/refused/off_site")
            raise OffSiteRequest(f"not a picture host, not fetched ({exc.reason})") from None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(IMAGES_REQUESTS)
        # Sina's image hosts turn away requests that name another site; DEFAULT_REQUEST_HEADERS
        # gives every request Sina's front page as its Referer, so it is taken off here, last.
        if b"Referer" in request.headers:
            headers = request.headers.copy()
            del headers[b"Referer"]
            request = request.replace(headers=headers)
        return request

    async def _fetch(self, request: Request) -> Response:
        limit = request.meta.get("download_maxsize", self._maxsize)
        try:
            response: Response = await self._inner.download_request(request)
        except (DownloadCancelledError, CancelledError):
            if not limit:
                raise
            # Scrapy's handler cancels a download past the limit: at once when Content-Length
            # announces it, and without a message when a body without one grows past it.
            raise ResponseTooLarge(f"larger than DOWNLOAD_MAXSIZE ({limit} bytes)") from None
        return response

    async def close(self) -> None:
        await self._inner.close()
