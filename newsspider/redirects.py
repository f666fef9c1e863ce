"""Redirects that stay on Sina and never loop silently.

Scrapy's redirect middlewares, with two rules added where a redirect is decided:

* a redirect (HTTP or meta refresh) to a URL that is not Sina's (``sina_url`` refuses it) is not
  followed: the request fails with :class:`~newsspider.failures.RedirectedOffSite`, which the
  spider counts as ``sina/dropped/redirected_off_site``; a picture request
  (:data:`~newsspider.archive.pictures.PICTURE_META`) follows a redirect only to a picture URL
  the pictures pipeline would fetch itself (a host of ``ARCHIVE_IMAGES_HOSTS``, the same URL
  rules), and with no ``Referer`` (``images/failed/redirected_off_site`` otherwise);
* a redirect back to a URL the chain already visited (A → A, A → A?x → A) is followed (a page that
  sets a cookie and redirects to itself works), past the duplicate filter that would drop it
  without a word; a chain that keeps looping until ``REDIRECT_MAX_TIMES`` fails with
  :class:`~newsspider.failures.RedirectLoop` (``redirect_loop``), a long one that does not with
  :class:`~newsspider.failures.TooManyRedirects`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import (
    BaseRedirectMiddleware,
    MetaRefreshMiddleware,
    RedirectMiddleware,
)
from scrapy.exceptions import IgnoreRequest

from newsspider.archive.pictures import PICTURE_META, NotPictureUrl, picture_url
from newsspider.config import Config
from newsspider.failures import RedirectedOffSite, RedirectLoop, TooManyRedirects
from newsspider.sina.urls import NotSinaUrl, sina_url

if TYPE_CHECKING:
    from scrapy.http import Response


def _check_target(middleware: BaseRedirectMiddleware, redirected: Request, reason: Any) -> None:
    if PICTURE_META in redirected.meta:
        try:
            picture_url(redirected.url, Config.of(middleware.crawler).images.hosts)
        except NotPictureUrl:
            raise RedirectedOffSite(
                f"redirected to {redirected.url}, not a picture URL of ARCHIVE_IMAGES_HOSTS "
                f"({reason})"
            ) from None
        return
    try:
        sina_url(redirected.url)
    except NotSinaUrl:
        raise RedirectedOffSite(
            f"redirected to {redirected.url}, not a Sina URL ({reason})"
        ) from None


def _sina_redirect(
    middleware: BaseRedirectMiddleware, redirected: Request, request: Request, reason: Any
) -> Request:
    _check_target(middleware, redirected, reason)
    chain = [*request.meta.get("redirect_urls", []), request.url]
    loops = redirected.url in chain
    try:
        followed = BaseRedirectMiddleware._redirect(middleware, redirected, request, reason)
    except IgnoreRequest:
        if loops or len(set(chain)) < len(chain):
            raise RedirectLoop(f"redirects in a loop ({' -> '.join(chain)})") from None
        raise TooManyRedirects(f"more than {middleware.max_redirect_times} redirects") from None
    if loops:
        followed.dont_filter = True
    return followed


class SinaRedirectMiddleware(RedirectMiddleware):
    """HTTP redirects (see the module docstring)."""

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        return _sina_redirect(self, redirected, request, reason)

    def handle_referer(self, request: Request, response: Response) -> None:
        if PICTURE_META in request.meta:
            # Sina's image hosts refuse a request that names another site.
            request.headers.pop("Referer", None)
            return
        super().handle_referer(request, response)


class SinaMetaRefreshMiddleware(MetaRefreshMiddleware):
    """``<meta http-equiv=refresh>`` redirects (see the module docstring)."""

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        return _sina_redirect(self, redirected, request, reason)
