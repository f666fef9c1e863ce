"""Items on their way from the workers to the writer, as JSON in a Redis list: fetched pages
and re-checks (the writer makes the posts)."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime
from typing import Any

from newsspider.items import ArticleCheck, FetchedPage
from newsspider.sina.roll import RollEntry

_TYPES: dict[str, type[Any]] = {"page": FetchedPage, "check": ArticleCheck}
_NAMES = {cls: name for name, cls in _TYPES.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):  # the page as fetched, whatever its encoding
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, RollEntry):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def encode_item(item: FetchedPage | ArticleCheck) -> str:
    """``{"type": …, "fields": {…}}`` with datetimes in ISO 8601 and the page in base64."""
    fields = {f.name: _plain(getattr(item, f.name)) for f in dataclasses.fields(item)}
    return json.dumps({"type": _NAMES[type(item)], "fields": fields}, ensure_ascii=False)


def decode_item(text: str) -> FetchedPage | ArticleCheck:
    """The item :func:`encode_item` wrote; ``ValueError`` for anything else."""
    try:
        payload = json.loads(text)
        cls = _TYPES[payload["type"]]
        fields = dict(payload["fields"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not an encoded item: {exc}") from None
    try:
        if cls is ArticleCheck:
            fields["updated_at"] = _moment(fields.get("updated_at"))
            return ArticleCheck(**fields)
        fields["body"] = base64.b64decode(fields["body"], validate=True)
        if not isinstance(fields["encoding"], str):
            raise TypeError("encoding is not text")
        entry = fields.get("entry")
        if entry is not None:
            entry = dict(entry)
            entry["intime"], entry["mtime"] = _moment(entry["intime"]), _moment(entry["mtime"])
            fields["entry"] = RollEntry(**entry)
        return FetchedPage(**fields)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not an encoded item: {exc}") from None
