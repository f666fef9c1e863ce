"""Sina Finance roll channels and where their posts live in the archive."""

from __future__ import annotations

from dataclasses import dataclass

SITE_CATEGORIES: tuple[str, str] = ("金融", "新浪财经")


@dataclass(frozen=True)
class Channel:
    """One roll list of the Sina roll API (``pageid``/``lid``) and its archive category."""

    name: str
    pageid: int
    lid: int
    label: str

    @property
    def title(self) -> str:
        """The category title, as the existing archives spell it (``新浪财经－国內``)."""
        return f"新浪财经－{self.label}"

    @property
    def categories(self) -> tuple[str, ...]:
        """The Hexo category chain; the archive folder follows it."""
        return (*SITE_CATEGORIES, self.title)


# 国內 is spelled with U+5167 in the existing archives; keep it byte for byte.
CHANNELS: dict[str, Channel] = {
    channel.name: channel for channel in (Channel("china", 155, 1686, "国內"),)
}

DEFAULT_CHANNEL = "china"


def get_channel(name: str) -> Channel:
    """The channel called ``name``; ``KeyError`` names the valid ones."""
    try:
        return CHANNELS[name]
    except KeyError:
        valid = ", ".join(sorted(CHANNELS))
        raise KeyError(f"unknown channel {name!r}; valid channels: {valid}") from None
