"""What a mock Sina serves: the golden pairs, synthetic articles made from them, and the roll
API's pages of each channel in their JSON envelope.

One model for the test mock (:mod:`utils.mocksina`) and the benchmark mirror
(``benchmarks/mirror_server.py``), so both answer as ``tests/data/sina/README.md`` describes
("Roll API"). Imported as ``utils.content`` by the tests and as ``tests.utils.content`` by the
benchmark, so it imports nothing but the standard library and its own package, relatively.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

DATA = Path(__file__).resolve().parent.parent / "data" / "sina"
GOLDEN = DATA / "golden"
BEIJING = timezone(timedelta(hours=8))

# ---- golden pairs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Golden:
    """One golden pair: the page, its roll item, what is known of it (``meta.json``) and the
    post the old archive holds for it (``expected.md``)."""

    slug: str
    page: str
    item: dict[str, Any]
    meta: dict[str, Any]
    expected: bytes

    @classmethod
    def load(cls, folder: Path) -> Golden:
        return cls(
            slug=folder.name,
            page=(folder / "page.html").read_text(encoding="utf-8"),
            item=json.loads((folder / "item.json").read_text(encoding="utf-8")),
            meta=json.loads((folder / "meta.json").read_text(encoding="utf-8")),
            expected=(folder / "expected.md").read_bytes(),
        )

    @property
    def url(self) -> str:
        return str(self.meta["url"])

    @property
    def title(self) -> str:
        return str(self.meta["title"])

    @property
    def doc_id(self) -> str:
        """The docid without ``comos:`` (``lasorkf8164852``), as the page and URL spell it."""
        return str(self.meta["docid"]).removeprefix("comos:")

    @property
    def intime(self) -> int:
        return int(self.meta["intime"])


def golden_dirs(root: Path = GOLDEN) -> list[Path]:
    """The golden folders under ``root``, in name order."""
    return sorted(p for p in root.iterdir() if (p / "meta.json").is_file())


def load_goldens(root: Path = GOLDEN) -> list[Golden]:
    """Every golden pair under ``root``, in folder order."""
    return [Golden.load(folder) for folder in golden_dirs(root)]


GOLDEN_DIRS = golden_dirs()
GOLDENS = load_goldens()

# ---- synthetic articles ----------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """A roll channel synthetic articles are listed by, and the URL section of its articles."""

    name: str
    pageid: int
    lid: int
    section: str = "china"


CHINA = Channel("china", 155, 1686)


@dataclass(frozen=True)
class Timeline:
    """When synthetic article ``i`` is listed: ``step`` seconds before article ``i - 1``."""

    newest: int  # unix seconds of article 0
    step: int

    def intime(self, index: int) -> int:
        return self.newest - self.step * index


# The tests' articles: article i at 1_700_000_000 - 60 i (2023-11-15 06:13:20 Beijing, one a
# minute back); tests derive -a since/until windows from it.
TEST_TIMELINE = Timeline(1_700_000_000, 60)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def synthetic_id(index: int) -> str:
    """A docid body like Sina's (7 letters, 7 digits), distinct per index and from the golden
    ones (which never start with ``z``)."""
    letters = ""
    value = index
    for _ in range(6):
        value, digit = divmod(value, 26)
        letters = _LETTERS[digit] + letters
    return f"z{letters}{index % 10_000_000:07d}"


def synthetic_title(golden_title: str, index: int) -> str:
    """A distinct title: the golden one with the article number appended."""
    return f"{golden_title}（样本{index:06d}）"


def _beijing(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC).astimezone(BEIJING)


@dataclass(frozen=True)
class SyntheticArticle:
    """A distinct article made from a golden page: its own docid, URL, title and time, put into
    the page and the roll item wherever the golden article's appear; the body is the golden
    body, so the page keeps the golden page's size."""

    index: int
    golden: Golden
    channel: Channel
    intime: int

    @property
    def doc_id(self) -> str:
        return synthetic_id(self.index)

    @property
    def docid(self) -> str:
        return f"comos:{self.doc_id}"

    @property
    def title(self) -> str:
        return synthetic_title(self.golden.title, self.index)

    @property
    def url(self) -> str:
        day = _beijing(self.intime).strftime("%Y-%m-%d")
        return f"https://finance.sina.com.cn/{self.channel.section}/{day}/doc-i{self.doc_id}.shtml"

    @cached_property
    def page(self) -> str:
        """The golden page with this article's docid, title, URL and dates put in."""
        golden = self.golden
        old, new = _beijing(golden.intime), _beijing(self.intime)
        page = golden.page.replace(golden.url, self.url)
        page = page.replace(golden.doc_id, self.doc_id)
        page = page.replace(golden.title, self.title)
        for form in ("%Y年%m月%d日 %H:%M", "%Y-%m-%d %H:%M:%S"):  # shown; <!-- [ published at
            page = page.replace(old.strftime(form), new.strftime(form))
        page = page.replace(old.isoformat(), new.isoformat())  # article:published_time
        return page.replace(old.strftime("%Y-%m-%d"), new.strftime("%Y-%m-%d"))

    @cached_property
    def item(self) -> dict[str, Any]:
        """The golden roll item with this article's docid, URLs, title and times."""
        golden = self.golden
        item = dict(golden.item)
        old_day = _beijing(golden.intime).strftime("%Y-%m-%d")
        day = _beijing(self.intime).strftime("%Y-%m-%d")
        for key in ("wapurl", "commentid", "urls", "wapurls"):
            if isinstance(item.get(key), str):
                item[key] = item[key].replace(golden.doc_id, self.doc_id)
        for key in ("wapurl", "wapurls"):
            if isinstance(item.get(key), str):
                item[key] = item[key].replace(old_day, day)
        item.update(
            url=self.url,
            urls=json.dumps([self.url]),
            docid=self.docid,
            title=self.title,
            intime=str(self.intime),
            ctime=str(self.intime - 600),
            mtime=str(self.intime - 7),
            lids=str(self.channel.lid),
        )
        return item


def synthetic_article(
    index: int,
    golden: Golden | None = None,
    *,
    channel: Channel = CHINA,
    timeline: Timeline = TEST_TIMELINE,
) -> SyntheticArticle:
    """Synthetic article ``index``, made from ``golden`` (by default golden ``index`` modulo
    their number) and listed at ``timeline.intime(index)``."""
    golden = golden or GOLDENS[index % len(GOLDENS)]
    return SyntheticArticle(index, golden, channel, timeline.intime(index))


def plan_articles(
    count: int,
    channels: Sequence[Channel],
    timeline: Timeline,
    goldens: Sequence[Golden] = GOLDENS,
) -> list[SyntheticArticle]:
    """``count`` synthetic articles, newest first: article ``i`` goes to channel
    ``i % len(channels)`` and is made from golden ``i % len(goldens)``. Deterministic, so
    whoever serves them and whoever crawls them compute the same list."""
    return [
        SyntheticArticle(
            i, goldens[i % len(goldens)], channels[i % len(channels)], timeline.intime(i)
        )
        for i in range(count)
    ]


# ---- the roll API ----------------------------------------------------------------------------

ROLL_PATHS = frozenset({"/feed.mix.sina.com.cn/api/roll/get", "/feed.sina.com.cn/api/roll/get"})
ROLL_TIMESTAMP = "Mon Dec 13 15:34:10 +0800 2021"
DEFAULT_NUM, MAX_NUM = 10, 50


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@dataclass(frozen=True)
class RollQuery:
    """One roll request's query: which channel, which page, how many items a page."""

    pageid: str
    lid: str
    page: int
    num: int
    callback: str | None = None

    @classmethod
    def parse(cls, query: str) -> RollQuery:
        """As the roll API reads it: ``num`` clamped to 1..50 (10 when absent or not a number),
        ``page`` at least 1; other parameters ignored."""
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        return cls(
            pageid=params.get("pageid", ""),
            lid=params.get("lid", ""),
            page=max(1, _int(params.get("page"), 1)),
            num=min(MAX_NUM, max(1, _int(params.get("num"), DEFAULT_NUM))),
            callback=params.get("callback") or None,
        )


def roll_envelope(
    items: Sequence[dict[str, Any]], page: int, num: int, timestamp: str = ROLL_TIMESTAMP
) -> dict[str, Any]:
    """The roll API's answer for page ``page`` of ``items`` (newest first), ``num`` a page: past
    the end, an empty ``data`` list."""
    return {
        "result": {
            "status": {"code": 0, "msg": "succ"},
            "timestamp": timestamp,
            "total": len(items),
            "data": list(items[(page - 1) * num : page * num]),
        }
    }


class Rolls:
    """The roll API's lists, by ``(pageid, lid)``, each newest first; an unknown pair lists
    nothing."""

    def __init__(self, timestamp: str = ROLL_TIMESTAMP) -> None:
        self.timestamp = timestamp
        self.lists: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def set(self, pageid: int | str, lid: int | str, items: Iterable[dict[str, Any]]) -> None:
        """List ``items`` (order kept) for ``pageid``/``lid``."""
        self.lists[(str(pageid), str(lid))] = list(items)

    def append(self, pageid: int | str, lid: int | str, item: dict[str, Any]) -> None:
        self.lists.setdefault((str(pageid), str(lid)), []).append(item)

    def pages(self, pageid: int | str, lid: int | str, num: int) -> int:
        """Pages of ``num`` that list all of ``pageid``/``lid`` (at least 1)."""
        return max(1, math.ceil(len(self.lists.get((str(pageid), str(lid)), [])) / num))

    def answer(self, query: RollQuery) -> tuple[bytes, str]:
        """The body and ``Content-Type`` of the answer: JSON, or with ``callback`` the JSON
        wrapped as ``try{NAME(<json>);}catch(e){};``."""
        items = self.lists.get((query.pageid, query.lid), [])
        envelope = roll_envelope(items, query.page, query.num, self.timestamp)
        text = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        content_type = "application/json; charset=utf-8"
        if query.callback:
            text = f"try{{{query.callback}({text});}}catch(e){{}};"
            content_type = "application/javascript"
        return text.encode("utf-8"), content_type
