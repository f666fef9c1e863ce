"""Items on their way from the workers to the writer, as JSON in a Redis list."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from newsspider.items import ArticleCheck, ArticleItem

_TYPES: dict[str, type[Any]] = {"article": ArticleItem, "check": ArticleCheck}
_NAMES = {cls: name for name, cls in _TYPES.items()}
_DATETIME_FIELDS = {"listed_at", "updated_at", "published_at", "displayed_at", "date"}


def encode_item(item: ArticleItem | ArticleCheck) -> str:
    """``{"type": …, "fields": {…}}`` with datetimes in ISO 8601."""
    fields = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in dataclasses.asdict(item).items()
    }
    return json.dumps({"type": _NAMES[type(item)], "fields": fields}, ensure_ascii=False)


def decode_item(text: str) -> ArticleItem | ArticleCheck:
    """The item :func:`encode_item` wrote; ``ValueError`` for anything else."""
    try:
        payload = json.loads(text)
        cls = _TYPES[payload["type"]]
        fields = dict(payload["fields"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not an encoded item: {exc}") from None
    try:
        for key in _DATETIME_FIELDS & fields.keys():
            if fields[key] is not None:
                fields[key] = datetime.fromisoformat(fields[key])
        return cls(**fields)  # type: ignore[no-any-return]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an encoded item: {exc}") from None
