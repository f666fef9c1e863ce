"""Spider arguments (``-a name=value``), parsed once into a validated, typed model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newsspider.config import ConfigError, positive_int
from newsspider.sina.channels import DEFAULT_CHANNEL, Channel, UnknownChannelError, select_channels
from newsspider.sina.dates import BEIJING
from newsspider.sina.urls import MAX_ROLL_NUM, NotSinaUrl, canonical_article_url

PARAM_NAMES = ("pages", "num", "channels", "since", "until", "urls", "url_file")


def parse_moment(name: str, value: str) -> datetime:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]``, Beijing time unless an offset is given."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"-a {name}={value} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM "
            "(Beijing time unless an offset like +00:00 is given)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


def _read_url_file(path: str) -> list[str]:
    try:
        lines = Path(path).expanduser().read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"-a url_file={path} cannot be read: {exc}") from None
    return [line.split("#", 1)[0].strip() for line in lines]


def parse_urls(urls: str | None, url_file: str | None) -> tuple[str, ...]:
    """The explicit article URLs, canonical and de-duplicated. A URL that is not Sina's as
    Scrapy would fetch it (:func:`~newsspider.sina.urls.sina_url`) refuses the whole list."""
    raw = [u.strip() for u in (urls or "").split(",")]
    if url_file:
        raw += _read_url_file(url_file)
    found: dict[str, None] = {}
    refused = []
    for url in filter(None, raw):
        try:
            found[canonical_article_url(url)] = None
        except NotSinaUrl:
            refused.append(url)
    if refused:
        shown = ", ".join(refused[:5]) + (
            f" (and {len(refused) - 5} more)" if len(refused) > 5 else ""
        )
        raise ConfigError(f"not a Sina URL, refused: {shown}")
    return tuple(found)


@dataclass(frozen=True)
class CrawlParams:
    """What to crawl.

    * ``channels``: roll channels in the order given (``-a channels=china,macro`` or ``all``).
    * ``pages``: roll pages per channel; ``None`` walks until ``since`` or an empty page.
    * ``num``: items per roll page (1–50).
    * ``since``/``until``: the backfill window (aware datetimes), either may be open.
    * ``urls``: explicit article URLs; when given, the roll is not read.
    """

    channels: tuple[Channel, ...]
    pages: int | None
    pages_given: bool
    num: int
    since: datetime | None
    until: datetime | None
    urls: tuple[str, ...]

    @classmethod
    def parse(cls, **kwargs: object) -> CrawlParams:
        """Validate spider arguments; raises ``ConfigError`` with a message for the user.

        Arguments starting with ``_`` (Scrapyd's ``_job``) are left alone.
        """
        unknown = sorted(k for k in kwargs if k not in PARAM_NAMES and not k.startswith("_"))
        if unknown:
            raise ConfigError(
                f"unknown argument {', '.join(unknown)}; valid arguments: {', '.join(PARAM_NAMES)}"
            )
        args = {k: str(v) for k, v in kwargs.items() if k in PARAM_NAMES and v is not None}
        try:
            channels = select_channels(args.get("channels", DEFAULT_CHANNEL))
        except UnknownChannelError as exc:
            raise ConfigError(f"-a channels: {exc}") from None
        since = parse_moment("since", args["since"]) if "since" in args else None
        until = parse_moment("until", args["until"]) if "until" in args else None
        if since and until and since > until:
            raise ConfigError("-a since is later than -a until")
        urls = parse_urls(args.get("urls"), args.get("url_file"))
        if urls and (since or until):
            raise ConfigError(
                "-a since/until select roll items by date; they do not apply to urls/url_file"
            )
        if urls and len(channels) != 1:
            raise ConfigError("with urls or url_file, -a channels takes one channel name")
        if ("urls" in args or "url_file" in args) and not urls:
            raise ConfigError("urls/url_file name no URL")
        if "pages" in args:
            pages: int | None = positive_int("pages", args["pages"])
        else:
            pages = None if since else 1
        return cls(
            channels=channels,
            pages=pages,
            pages_given="pages" in args,
            num=positive_int("num", args.get("num", MAX_ROLL_NUM), maximum=MAX_ROLL_NUM),
            since=since,
            until=until,
            urls=urls,
        )
