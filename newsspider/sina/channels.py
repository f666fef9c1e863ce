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
CHANNEL_TABLE: tuple[Channel, ...] = (
    Channel("china", 155, 1686, "国內"),
    Channel("macro", 155, 1687, "宏观经济"),
    Channel("regional", 155, 1688, "地方经济"),
    Channel("ministries", 155, 1689, "部委动态"),
    Channel("finance_news", 155, 1690, "金融新闻"),
    Channel("top10", 155, 3231, "今日财经TOP10"),
    Channel("finance", 384, 2519, "财经"),
    Channel("stocks", 384, 2671, "股市"),
    Channel("us_stocks", 384, 2672, "美股"),
    Channel("china_concept", 384, 2673, "中国概念股"),
    Channel("hk_stocks", 384, 2674, "港股"),
    Channel("research", 384, 2675, "研究报告"),
    Channel("global_markets", 384, 2676, "全球市场"),
    Channel("forex", 384, 2487, "外汇"),
    Channel("roll_finance", 153, 2516, "财经"),
    Channel("roll_stocks", 153, 2517, "股市"),
    Channel("roll_us_stocks", 153, 2518, "美股"),
)
CHANNELS: dict[str, Channel] = {channel.name: channel for channel in CHANNEL_TABLE}

DEFAULT_CHANNEL = "china"


class UnknownChannelError(KeyError):
    """A channel name that is not in the table; the message lists the valid names."""

    def __str__(self) -> str:
        return str(self.args[0])


def get_channel(name: str) -> Channel:
    """The channel called ``name``."""
    try:
        return CHANNELS[name]
    except KeyError:
        valid = ", ".join(CHANNELS)
        raise UnknownChannelError(f"unknown channel {name!r}; valid channels: {valid}") from None


def select_channels(spec: str) -> tuple[Channel, ...]:
    """Channels from ``china,macro`` (in that order, duplicates dropped) or ``all``."""
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if names == ["all"]:
        return CHANNEL_TABLE
    if not names:
        raise UnknownChannelError("no channel named; valid channels: " + ", ".join(CHANNELS))
    return tuple(get_channel(name) for name in dict.fromkeys(names))
