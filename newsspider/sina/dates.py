"""Date parsing for Sina pages and roll items."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

_CN_DATE = re.compile(
    r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日\s*"
    r"(?:(?P<H>\d{1,2})\s*:\s*(?P<M>\d{2})(?:\s*:\s*(?P<S>\d{2}))?)?"
)
_ISO_SPACE = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)$")


def from_unix(value: object) -> datetime | None:
    """A UTC datetime from unix seconds given as int, float or numeric string; else None
    (also for values of any other type, and numbers of any size outside 1970..2242)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if not 0 < seconds < 2**33:
        return None
    return datetime.fromtimestamp(int(seconds), UTC)


def parse_iso(value: str | None) -> datetime | None:
    """An aware datetime from ISO 8601 text; text without an offset is Beijing time."""
    if not value:
        return None
    text = value.strip()
    match = _ISO_SPACE.match(text)
    if match:
        text = f"{match.group(1)}T{match.group(2)}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed


def parse_chinese(value: str | None) -> datetime | None:
    """An aware datetime from text like ``2021年12月13日 15:34`` (Beijing time)."""
    if not value:
        return None
    match = _CN_DATE.search(value)
    if not match:
        return None
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    try:
        return datetime(
            parts["y"],
            parts["m"],
            parts["d"],
            parts.get("H", 0),
            parts.get("M", 0),
            parts.get("S", 0),
            tzinfo=BEIJING,
        )
    except ValueError:
        return None


def rfc1123(moment: datetime) -> str:
    """``Mon, 13 Dec 2021 07:34:10 GMT``: what JavaScript's ``Date.toUTCString()`` gives."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)
