"""Sina URLs: the roll API, which URLs are Sina's, article identity and the mirror convention.

Whether a URL is Sina's is decided on the URL exactly as Scrapy will fetch it: Scrapy builds
every request URL with w3lib's ``safe_url_string`` (WHATWG rules: ``\\`` is a path separator,
hosts are IDNA-encoded, ``。`` is a dot) and connects to the host ``urllib.parse`` then reads from
it. Python's own ``urlsplit`` on the raw text disagrees with that for URLs like
``https://evil.example\\.sina.com.cn/``, so a check on the raw text can be fooled; the check
here cannot. Every place that lets a URL into the crawl uses :func:`sina_url` (roll items,
``-a urls``, redirects, the download handler).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from w3lib.url import safe_url_string

ROLL_API = "https://feed.mix.sina.com.cn/api/roll/get"
MAX_ROLL_NUM = 50
SINA_DOMAINS = ("sina.com.cn", "sina.cn", "sinaimg.cn", "sina.com")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


class NotSinaUrl(ValueError):
    """A URL the crawl refuses to fetch; ``reason`` is a short stats key part."""

    def __init__(self, reason: str, url: object) -> None:
        super().__init__(f"{reason}: {url!r}")
        self.reason = reason


def roll_api_url(pageid: int, lid: int, num: int, page: int) -> str:
    """The roll API URL for one page (1-based) of list ``pageid``/``lid``."""
    query = urlencode({"pageid": pageid, "lid": lid, "num": num, "page": page})
    return f"{ROLL_API}?{query}"


def is_sina_host(host: str | None) -> bool:
    """True for sina.com.cn, sina.cn, sinaimg.cn and sina.com and their subdomains.

    ``host`` must already be the host a request goes to (lower case, IDNA); :func:`sina_url`
    is the check for whole URLs.
    """
    if not host:
        return False
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in SINA_DOMAINS)


def trusted_url(url: object, host_allowed: Callable[[str], bool]) -> str:
    """``url`` exactly as Scrapy will request it, when it passes the trust rules and
    ``host_allowed(host)`` (host in lower case, no trailing dot) says yes.

    Refused (``NotSinaUrl``, with its reason): anything that is not a string URL
    (``not_a_url``), schemes other than http and https (``bad_scheme``), user info
    (``userinfo``), ports other than the scheme's default (``port``), hosts that are not plain
    DNS names (``bad_host``: IP addresses, percent-escapes, empty labels) and hosts
    ``host_allowed`` refuses (``off_site``). The default port is dropped from the result, and
    the host is lower case without a trailing dot.
    """
    if not isinstance(url, str) or not url.strip():
        raise NotSinaUrl("not_a_url", url)
    try:
        fetched = safe_url_string(url.strip())
        parts = urlsplit(fetched)
        port = parts.port
    except ValueError:  # "[" in a host, a port that is no number, …
        raise NotSinaUrl("not_a_url", url) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise NotSinaUrl("bad_scheme", url)
    if "@" in parts.netloc:
        raise NotSinaUrl("userinfo", url)
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        raise NotSinaUrl("port", url)
    host = (parts.hostname or "").rstrip(".")
    if not _HOST.match(host):
        raise NotSinaUrl("bad_host", url)
    if not host_allowed(host):
        raise NotSinaUrl("off_site", url)
    return urlunsplit((scheme, host, parts.path or "/", parts.query, parts.fragment))


def sina_url(url: object) -> str:
    """``url`` exactly as Scrapy will request it, when that request goes to a Sina host:
    :func:`trusted_url` with the hosts of :data:`SINA_DOMAINS`."""
    return trusted_url(url, is_sina_host)


def canonical_article_url(url: object) -> str:
    """The one URL an article is known by: https, no query, no fragment.

    Sina serves an article the same whatever the query (``?from=wap``, ``?cre=…``), so the query
    never makes a second article. Raises ``NotSinaUrl`` for a URL that is not Sina's.
    """
    parts = urlsplit(sina_url(url))
    return urlunsplit(("https", parts.netloc, parts.path, "", ""))


def to_mirror(url: str, mirror: str) -> str:
    """``https://HOST/PATH?QUERY`` as served by the mirror: ``MIRROR/HOST/PATH?QUERY``."""
    parts = urlsplit(url)
    path = parts.path or "/"
    base = mirror.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{base}/{parts.netloc}{path}{query}"


def from_mirror(url: str, mirror: str, scheme: str = "https") -> str | None:
    """The real URL behind a mirror URL, or None when ``url`` is not under ``mirror`` or does
    not stand for a Sina URL."""
    base = mirror.rstrip("/") + "/"
    if not url.startswith(base):
        return None
    rest = url[len(base) :]
    host, _, path_query = rest.partition("/")
    path, _, query = ("/" + path_query).partition("?")
    try:
        return sina_url(urlunsplit((scheme, host, path, query, "")))
    except NotSinaUrl:
        return None


_NOT_ARTICLE_HOSTS = ("video.sina.com.cn", "video.sina.cn", "zhibo.sina.com.cn", "live.sina.com.cn")


def non_article_reason(url: str) -> str | None:
    """Why ``url`` is not an article page to archive (video, slide show, live page, a
    section front), or None for an article."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    if host in _NOT_ARTICLE_HOSTS or host.startswith(("video.", "slide.", "zhibo.", "live.")):
        return "not_article"
    if "/zhibo/" in path or "/slide_" in path or "/video/" in path:
        return "not_article"
    if path in ("", "/") or path.endswith("/") or path.endswith(("/index.shtml", "/index.html")):
        return "not_article"
    return None


_DOC_ID = re.compile(r"(?:doc|detail)-i([a-z]+\d+)", re.I)
_ROLL_DOCID = re.compile(r"^comos:[a-z]+\d+$", re.I)


def docid_from_url(url: str) -> str | None:
    """``comos:<id>`` for Sina article URLs (``…/doc-ilasorkf8164852.shtml``), else None."""
    match = _DOC_ID.search(urlsplit(url).path)
    return f"comos:{match.group(1).lower()}" if match else None


def article_docid(url: str, listed: str | None) -> str | None:
    """The docid an article is known by: the one in its URL, else the roll's ``docid`` when it
    has the same form (``comos:<letters><digits>``), else None.

    The URL's own id wins: a roll item cannot make one article pass for another by naming
    another article's docid.
    """
    own = docid_from_url(url)
    if own is not None:
        return own
    if listed and _ROLL_DOCID.match(listed.strip()):
        return listed.strip().lower()
    return None
