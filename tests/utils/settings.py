"""The project's settings as tests build crawlers from them."""

from __future__ import annotations

from typing import Any

from newsspider import settings as _project

PROJECT: dict[str, Any] = {
    name: getattr(_project, name) for name in dir(_project) if name.isupper()
}
"""The settings module alone, without Scrapy's defaults (``get_crawler`` picks the reactor)."""
