"""The Sina roll API: parse one answer into typed entries.

The API answers JSON (sometimes wrapped as JSONP) shaped like
``{"result": {"status": {"code": 0, "msg": "succ"}, "total": N, "data": [item, ...]}}``.
Numbers may arrive as strings, ``img`` as ``{}`` or ``[]``; nothing here trusts a type or a
size: whatever the answer holds, :func:`parse_roll` returns a page or raises ``RollError``, and a
bad item costs that item only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from newsspider.sina.dates import from_unix
from newsspider.sina.text import repair_text
from newsspider.sina.urls import NotSinaUrl, article_docid, canonical_article_url

_JSONP = re.compile(
    r"^\s*(?:try\s*\{)?\s*[\w$.]+\s*\((?P<body>.*)\)\s*;?\s*(?:\}\s*catch\s*\(\s*\w+\s*\)\s*\{\s*\}\s*;?)?\s*$",
    re.S,
)


class RollError(ValueError):
    """A roll answer that cannot be used; ``reason`` is a short stats key."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class RollEntry:
    """One usable roll item: an article the roll lists.

    ``url`` is the article's canonical URL (:func:`canonical_article_url`); ``docid`` the id
    the article is known by (:func:`article_docid`), or None.
    """

    url: str
    title: str
    docid: str | None
    intime: datetime | None
    mtime: datetime | None
    media_name: str | None

    def to_record(self) -> dict[str, Any]:
        """The entry as a JSON-ready mapping (times in ISO 8601), read back exactly by
        :meth:`from_record`."""
        return {
            "url": self.url,
            "title": self.title,
            "docid": self.docid,
            "intime": self.intime.isoformat() if self.intime is not None else None,
            "mtime": self.mtime.isoformat() if self.mtime is not None else None,
            "media_name": self.media_name,
        }

    @classmethod
    def from_record(cls, record: Any) -> RollEntry:
        """The entry :meth:`to_record` made; ``ValueError`` for anything else."""
        if not isinstance(record, dict):
            raise ValueError("a roll entry record is an object")

        def text(name: str, *, optional: bool = True) -> str | None:
            value = record.get(name)
            if value is None and optional:
                return None
            if not isinstance(value, str):
                raise ValueError(f"roll entry {name!r} is not text")
            return value

        def moment(name: str) -> datetime | None:
            value = text(name)
            return datetime.fromisoformat(value) if value is not None else None

        return cls(
            url=str(text("url", optional=False)),
            title=str(text("title", optional=False)),
            docid=text("docid"),
            intime=moment("intime"),
            mtime=moment("mtime"),
            media_name=text("media_name"),
        )


@dataclass
class RollPage:
    """One parsed roll answer: usable entries, the items that were rejected (with reasons),
    and the URLs of entries whose text had to be repaired (:func:`repair_text`)."""

    entries: list[RollEntry]
    rejected: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: Any) -> int | None:
    """A whole number from an int, a float or a numeric string; None for anything else,
    including numbers too large for a float (``status.code`` of 400 digits)."""
    text = _text(value)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        return None


def _json(text: str) -> Any:
    # Deeply nested JSON exhausts the parser's recursion, not the memory: a RecursionError.
    try:
        return json.loads(text)
    except RecursionError:
        raise RollError("bad_json", "answer is nested too deep") from None


def _load(text: str) -> Any:
    try:
        return _json(text)
    except ValueError:
        pass
    match = _JSONP.match(text)
    if match:
        try:
            return _json(match.group("body"))
        except ValueError as exc:
            raise RollError("bad_json", f"JSONP body is not valid JSON: {exc}") from None
    stripped = text.lstrip()
    if stripped.startswith("<"):
        raise RollError("not_json", "answer is HTML, not JSON")
    raise RollError("bad_json", "answer is not valid JSON (truncated or garbled)")


# How a refused item URL is counted: tricks that would reach another host are off-site.
_URL_REASONS = {"not_a_url": "bad_url", "bad_scheme": "bad_url"}


def parse_entry(item: Any) -> RollEntry | str:
    """A ``RollEntry`` from one raw item, or the reason it cannot be used (``no_url``,
    ``bad_url``, ``off_site_url``, ``no_title``, ``not_an_object``)."""
    if not isinstance(item, dict):
        return "not_an_object"
    url = _text(item.get("url"))
    if url is None:
        return "no_url"
    try:
        url = canonical_article_url(url)
    except NotSinaUrl as exc:
        return _URL_REASONS.get(exc.reason, "off_site_url")
    title = _text(item.get("title"))
    if title is None:
        return "no_title"
    return RollEntry(
        url=url,
        title=title,
        docid=article_docid(url, _text(item.get("docid"))),
        intime=from_unix(item.get("intime")),
        mtime=from_unix(item.get("mtime")),
        media_name=_text(item.get("media_name")),
    )


def _repaired(entry: RollEntry) -> RollEntry | None:
    """``entry`` with its text repaired, or None when nothing needed repair."""
    title, media = repair_text(entry.title), repair_text(entry.media_name)
    if title == entry.title and media == entry.media_name:
        return None
    return RollEntry(entry.url, title or "", entry.docid, entry.intime, entry.mtime, media)


def parse_roll(text: str) -> RollPage:
    """Parse one roll API answer (JSON or JSONP).

    Raises ``RollError`` when the answer as a whole is unusable: not JSON, a non-zero
    ``status.code``, or no ``data`` list. Single bad items are reported in ``rejected``.
    """
    payload = _load(text)
    result = payload.get("result") if isinstance(payload, dict) else None
    if not isinstance(result, dict):
        raise RollError("bad_envelope", "answer has no 'result' object")
    status = result.get("status")
    code = _int(status.get("code")) if isinstance(status, dict) else None
    if code != 0:
        msg = _text(status.get("msg")) if isinstance(status, dict) else None
        raise RollError("status_code", f"roll status code {code!r} ({msg or 'no message'})")
    data = result.get("data")
    if data is None or data == {}:
        data = []
    if not isinstance(data, list):
        raise RollError("bad_envelope", "'data' is not a list")
    page = RollPage(entries=[])
    for item in data:
        entry = parse_entry(item)
        if isinstance(entry, str):
            page.rejected.append(entry)
            continue
        repaired = _repaired(entry)
        if repaired is not None:
            page.repaired.append(entry.url)
            entry = repaired
        page.entries.append(entry)
    return page


@dataclass(frozen=True)
class RollPlan:
    """What to do with one roll page inside a backfill window.

    ``fetch``: the entries inside the window; ``too_new``/``too_old``: how many fell outside;
    ``oldest``: the oldest listing time on the page; ``more``: whether older pages may still
    hold entries inside the window (no entry older than ``since`` yet).
    """

    fetch: list[RollEntry]
    too_new: int
    too_old: int
    oldest: datetime | None
    more: bool


def plan_roll_page(
    entries: list[RollEntry], since: datetime | None, until: datetime | None
) -> RollPlan:
    """Split a page (newest first) by the window ``since``..``until`` (inclusive).

    Entries without a listing time are kept: the roll gives no reason to skip them.
    """
    fetch: list[RollEntry] = []
    too_new = too_old = 0
    for entry in entries:
        moment = entry.intime
        if moment is not None and until is not None and moment > until:
            too_new += 1
        elif moment is not None and since is not None and moment < since:
            too_old += 1
        else:
            fetch.append(entry)
    times = [e.intime for e in entries if e.intime is not None]
    return RollPlan(
        fetch=fetch,
        too_new=too_new,
        too_old=too_old,
        oldest=min(times) if times else None,
        more=bool(entries) and too_old == 0,
    )
