"""Settings that depend on other settings, applied once at start-up."""

from __future__ import annotations

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from newsspider.config import parse_mirror


class PolitenessAddon:
    """AutoThrottle and a download delay for the real Sina hosts; none against a mirror.

    A mirror (``SINA_MIRROR``) is the user's own server, so throttling it only slows the
    crawl. A value given on the command line (``-s AUTOTHROTTLE_ENABLED=…``) always wins.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        mirrored = bool(parse_mirror(settings.get("SINA_MIRROR")))
        self._default(settings, "AUTOTHROTTLE_ENABLED", not mirrored)
        if mirrored:
            self._default(settings, "DOWNLOAD_DELAY", 0)

    @staticmethod
    def _default(settings: BaseSettings, name: str, value: object) -> None:
        if (settings.getpriority(name) or 0) < SETTINGS_PRIORITIES["cmdline"]:
            settings.set(name, value, priority="spider")
