"""Settings that depend on other settings, applied once at start-up. (The distributed mode's
add-on is its own: :class:`newsspider.distributed.addon.DistributedAddon`.)

:class:`newsspider.config.ConfigAddon` comes first in ``ADDONS``: these add-ons read the new
setting names only.
"""

from __future__ import annotations

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from newsspider.config import SinaConfig


class PolitenessAddon:
    """AutoThrottle and a download delay for the real Sina hosts; none against a mirror.

    A mirror (``SINA_MIRROR``) is the user's own server, so throttling it only slows the
    crawl. A value given on the command line (``-s AUTOTHROTTLE_ENABLED=…``) always wins.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        mirrored = bool(SinaConfig.from_settings(settings).mirror)
        self._default(settings, "AUTOTHROTTLE_ENABLED", not mirrored)
        if mirrored:
            self._default(settings, "DOWNLOAD_DELAY", 0)

    @staticmethod
    def _default(settings: BaseSettings, name: str, value: object) -> None:
        if (settings.getpriority(name) or 0) < SETTINGS_PRIORITIES["cmdline"]:
            settings.set(name, value, priority="spider")
