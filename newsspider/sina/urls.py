"""Sina URLs: the roll API, host recognition and the mirror convention."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit, urlunsplit

ROLL_API = "https://feed.mix.sina.com.cn/api/roll/get"
MAX_ROLL_NUM = 50
SINA_DOMAINS = ("sina.com.cn", "sina.cn", "sinaimg.cn", "sina.com")


def roll_api_url(pageid: int, lid: int, num: int, page: int) -> str:
    """The roll API URL for one page (1-based) of list ``pageid``/``lid``."""
    query = urlencode({"pageid": pageid, "lid": lid, "num": num, "page": page})
    return f"{ROLL_API}?{query}"


def is_sina_host(host: str | None) -> bool:
    """True for sina.com.cn, sina.cn, sinaimg.cn and sina.com and their subdomains."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in SINA_DOMAINS)


def to_mirror(url: str, mirror: str) -> str:
    """``https://HOST/PATH?QUERY`` as served by the mirror: ``MIRROR/HOST/PATH?QUERY``."""
    parts = urlsplit(url)
    path = parts.path or "/"
    base = mirror.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{base}/{parts.netloc}{path}{query}"


def from_mirror(url: str, mirror: str, scheme: str = "https") -> str | None:
    """The real URL behind a mirror URL, or None when ``url`` is not under ``mirror``."""
    base = mirror.rstrip("/") + "/"
    if not url.startswith(base):
        return None
    rest = url[len(base) :]
    host, _, path_query = rest.partition("/")
    if not is_sina_host(host.split(":")[0]):
        return None
    path, _, query = ("/" + path_query).partition("?")
    return urlunsplit((scheme, host, path, query, ""))


def canonical_article_url(url: str) -> str:
    """The https form of a Sina article URL, without fragment."""
    parts = urlsplit(url.strip())
    scheme = "https" if is_sina_host(parts.hostname) else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


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


def docid_from_url(url: str) -> str | None:
    """``comos:<id>`` for Sina article URLs (``…/doc-ilasorkf8164852.shtml``), else None."""
    match = _DOC_ID.search(urlsplit(url).path)
    return f"comos:{match.group(1)}" if match else None
