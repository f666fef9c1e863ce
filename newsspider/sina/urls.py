"""Sina URLs: the roll API, host recognition and the mirror convention."""

from __future__ import annotations

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
