"""A synthetic Sina mirror for the crawl benchmark, served fast from memory.

The mirror holds ``N`` articles made from the golden pages in ``tests/data/sina/golden``: each
article is one golden page with a distinct docid, title and date (the page keeps the golden
page's size, 60-80 KB), listed by one of a few roll channels. It follows the "Mirror URL
convention" and "Roll API" of ``tests/data/sina/README.md``: the real URL
``https://HOST/PATH?QUERY`` is served at ``http://127.0.0.1:PORT/HOST/PATH?QUERY``.

Every answer is rendered once, before the server starts, into the exact bytes sent (status line,
headers and body), so answering a request is one dictionary lookup and one socket write on an
asyncio event loop, with HTTP/1.1 keep-alive. ``GET /__stats__`` answers the request counts and
the server's own CPU time as JSON (not counted as a request).

Run by hand from the repo root::

    python benchmarks/mirror_server.py --articles 2000 --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import pathlib
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

REPO = pathlib.Path(__file__).resolve().parent.parent
GOLDEN_DIR = REPO / "tests" / "data" / "sina" / "golden"
BEIJING = timezone(timedelta(hours=8))

# (name, pageid, lid, URL section of its articles); names as in newsspider/sina/channels.py.
DEFAULT_CHANNELS: tuple[tuple[str, int, int, str], ...] = (
    ("china", 155, 1686, "china"),
    ("macro", 155, 1687, "china"),
    ("us_stocks", 384, 2672, "stock/usstock/c"),
)
ROLL_PATHS = frozenset({"/feed.mix.sina.com.cn/api/roll/get", "/feed.sina.com.cn/api/roll/get"})
ROLL_TIMESTAMP = "Tue Dec 31 12:00:00 +0800 2024"
NUM = 50  # the crawl's default -a num; other page sizes are rendered on demand
# The newest article; article i is listed STEP_SECONDS * i earlier.
NEWEST = datetime(2024, 12, 31, 12, 0, 0, tzinfo=BEIJING)
STEP_SECONDS = 97
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Golden:
    """One golden page, and the strings of it that name its article."""

    page: str
    item: dict[str, Any]
    doc_id: str  # lasorkf8164852 (the docid without comos: and without the URL's leading i)
    url: str
    title: str
    intime: int


@dataclass(frozen=True)
class Article:
    """One synthetic article of the mirror."""

    index: int
    channel: str
    pageid: int
    lid: int
    url: str
    docid: str  # comos:<id>
    title: str
    intime: int
    golden: int  # which golden page it is made from


def load_golden(golden_dir: pathlib.Path = GOLDEN_DIR) -> list[Golden]:
    """The golden pages, in folder order."""
    found = []
    for folder in sorted(p for p in golden_dir.iterdir() if (p / "meta.json").is_file()):
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        item = json.loads((folder / "item.json").read_text(encoding="utf-8"))
        found.append(
            Golden(
                page=(folder / "page.html").read_text(encoding="utf-8"),
                item=item,
                doc_id=meta["docid"].removeprefix("comos:"),
                url=meta["url"],
                title=meta["title"],
                intime=int(meta["intime"]),
            )
        )
    if not found:
        raise SystemExit(f"no golden pages under {golden_dir}")
    return found


def synthetic_id(index: int) -> str:
    """A docid body like Sina's (7 letters, 7 digits), distinct per index and from the golden
    ones (which never start with ``z``)."""
    letters = ""
    value = index
    for _ in range(6):
        value, digit = divmod(value, 26)
        letters = _LETTERS[digit] + letters
    return f"z{letters}{index % 10_000_000:07d}"


def plan_articles(
    count: int,
    golden_titles: Sequence[str],
    channels: Sequence[tuple[str, int, int, str]] = DEFAULT_CHANNELS,
) -> list[Article]:
    """The mirror's articles, newest first; article ``i`` goes to channel ``i % len(channels)``
    and is made from golden page ``i % len(golden_titles)``. Deterministic: the harness and the
    server compute the same list."""
    articles = []
    for i in range(count):
        name, pageid, lid, section = channels[i % len(channels)]
        moment = NEWEST - timedelta(seconds=STEP_SECONDS * i)
        doc = synthetic_id(i)
        day = moment.strftime("%Y-%m-%d")
        articles.append(
            Article(
                index=i,
                channel=name,
                pageid=pageid,
                lid=lid,
                url=f"https://finance.sina.com.cn/{section}/{day}/doc-i{doc}.shtml",
                docid=f"comos:{doc}",
                title=article_title(golden_titles[i % len(golden_titles)], i),
                intime=int(moment.timestamp()),
                golden=i % len(golden_titles),
            )
        )
    return articles


def article_title(golden_title: str, index: int) -> str:
    """A distinct title: the golden one with the article number appended."""
    return f"{golden_title}（样本{index:06d}）"


def roll_pages(count: int, channels: int = len(DEFAULT_CHANNELS), num: int = NUM) -> int:
    """Roll pages per channel that list every article (the crawl's ``-a pages``)."""
    per_channel = math.ceil(count / channels)
    return max(1, math.ceil(per_channel / num))


def _beijing(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC).astimezone(BEIJING)


def _render_page(golden: Golden, article: Article) -> str:
    """The golden page with the article's docid, title, URL date and dates put in."""
    old = _beijing(golden.intime)
    new = _beijing(article.intime)
    page = golden.page.replace(golden.url, article.url)
    page = page.replace(golden.doc_id, article.docid.removeprefix("comos:"))
    page = page.replace(golden.title, article.title)
    page = page.replace(old.strftime("%Y年%m月%d日 %H:%M"), new.strftime("%Y年%m月%d日 %H:%M"))
    page = page.replace(old.isoformat(), new.isoformat())
    page = page.replace(
        old.strftime("%Y-%m-%d %H:%M:%S"), new.strftime("%Y-%m-%d %H:%M:%S")
    )  # <!-- [ published at … ] -->
    return page.replace(old.strftime("%Y-%m-%d"), new.strftime("%Y-%m-%d"))


def _roll_item(golden: Golden, article: Article) -> dict[str, Any]:
    item = dict(golden.item)
    doc = article.docid.removeprefix("comos:")
    old_doc = golden.doc_id
    for key in ("wapurl", "commentid", "urls", "wapurls"):
        if isinstance(item.get(key), str):
            item[key] = item[key].replace(old_doc, doc)
    day = _beijing(article.intime).strftime("%Y-%m-%d")
    old_day = _beijing(golden.intime).strftime("%Y-%m-%d")
    for key in ("wapurl", "wapurls"):
        if isinstance(item.get(key), str):
            item[key] = item[key].replace(old_day, day)
    item.update(
        url=article.url,
        urls=json.dumps([article.url]),
        docid=article.docid,
        title=article.title,
        intime=str(article.intime),
        ctime=str(article.intime - 600),
        mtime=str(article.intime - 7),
        lids=f"{article.lid}",
    )
    return item


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _roll_body(items: list[dict[str, Any]], num: int, page: int) -> bytes:
    envelope = {
        "result": {
            "status": {"code": 0, "msg": "succ"},
            "timestamp": ROLL_TIMESTAMP,
            "total": len(items),
            "data": items[(page - 1) * num : page * num],
        }
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


NOT_FOUND = _response(
    "404 Not Found", "text/html; charset=utf-8", b"<html><body><h1>404 Not Found</h1></body></html>"
)


class Mirror:
    """Every answer of the mirror, pre-rendered, keyed by request target (path, no query, for
    pages; ``(pageid, lid, num, page)`` for roll pages)."""

    def __init__(
        self,
        count: int,
        channels: Sequence[tuple[str, int, int, str]] = DEFAULT_CHANNELS,
        golden_dir: pathlib.Path = GOLDEN_DIR,
    ) -> None:
        goldens = load_golden(golden_dir)
        self.articles = plan_articles(count, [g.title for g in goldens], channels)
        self.pages: dict[str, bytes] = {}
        self.rolls: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.roll_cache: dict[tuple[str, str, int, int], bytes] = {}
        self.page_bytes = 0
        for article in self.articles:
            golden = goldens[article.golden]
            body = _render_page(golden, article).encode("utf-8")
            self.page_bytes += len(body)
            key = "/" + article.url.removeprefix("https://")
            self.pages[key] = _response("200 OK", "text/html; charset=utf-8", body)
            self.rolls.setdefault((str(article.pageid), str(article.lid)), []).append(
                _roll_item(golden, article)
            )
        for (pageid, lid), items in self.rolls.items():
            for page in range(1, math.ceil(len(items) / NUM) + 2):
                self.roll(pageid, lid, NUM, page)

    def roll(self, pageid: str, lid: str, num: int, page: int) -> bytes:
        key = (pageid, lid, num, page)
        found = self.roll_cache.get(key)
        if found is None:
            body = _roll_body(self.rolls.get((pageid, lid), []), num, page)
            found = _response("200 OK", "application/json; charset=utf-8", body)
            self.roll_cache[key] = found
        return found

    def answer(self, target: str) -> tuple[str, bytes]:
        """``(kind, response bytes)`` for a request target; kind is roll, article or 404."""
        path, _, query = target.partition("?")
        found = self.pages.get(path)
        if found is not None:
            return "article", found
        if path in ROLL_PATHS:
            params = {k: v[-1] for k, v in parse_qs(query).items()}
            try:
                num = min(NUM, max(1, int(params.get("num", "10"))))
                page = max(1, int(params.get("page", "1")))
            except ValueError:
                num, page = 10, 1
            return "roll", self.roll(params.get("pageid", ""), params.get("lid", ""), num, page)
        return "404", NOT_FOUND


class _Protocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive; GET and HEAD; request bodies are skipped."""

    def __init__(self, server: MirrorServer) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            rest = self.buffer[end + 4 :]
            lower = head.lower()
            length = 0
            match = _CONTENT_LENGTH.search(lower)
            if match:
                length = int(match.group(1))
                if len(rest) < length:
                    return
            self.buffer = rest[length:]
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, _, target = line.partition(" ")
            target = target.rpartition(" ")[0]
            response = self.server.respond(target)
            assert self.transport is not None
            if method == "HEAD":
                response = response[: response.find(b"\r\n\r\n") + 4]
            self.transport.write(response)
            if b"connection: close" in lower:
                self.transport.close()
                return


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)")


class MirrorServer:
    """Serves a :class:`Mirror` on 127.0.0.1 from an asyncio event loop."""

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror
        self.counts: dict[str, int] = {"roll": 0, "article": 0, "404": 0}
        self.connections = 0

    def respond(self, target: str) -> bytes:
        if target.startswith("/__stats__"):
            return self.stats_response()
        kind, response = self.mirror.answer(target)
        self.counts[kind] += 1
        return response

    def stats_response(self) -> bytes:
        usage = os.times()
        body = json.dumps(
            {
                "requests": sum(self.counts.values()),
                **self.counts,
                "connections": self.connections,
                "cpu_seconds": usage.user + usage.system,
                "pid": os.getpid(),
            }
        ).encode()
        return _response("200 OK", "application/json", body)

    async def serve(self, port: int, ready: str | None) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Protocol(self), "127.0.0.1", port, backlog=1024, reuse_address=True
        )
        bound = server.sockets[0].getsockname()[1]
        message = (
            f"READY http://127.0.0.1:{bound} articles={len(self.mirror.articles)} "
            f"page_bytes={self.mirror.page_bytes}"
        )
        if ready:
            pathlib.Path(ready).write_text(message + "\n", encoding="utf-8")
        print(message, flush=True)
        async with server:
            await server.serve_forever()


def iter_channels(spec: str) -> Iterator[tuple[str, int, int, str]]:
    """``name:pageid:lid:section,…`` (section optional, default ``china``)."""
    for part in spec.split(","):
        fields = part.strip().split(":")
        yield fields[0], int(fields[1]), int(fields[2]), fields[3] if len(fields) > 3 else "china"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8000, help="0: any free port")
    parser.add_argument("--ready-file", help="write the READY line (with the URL) here")
    parser.add_argument(
        "--channels", help="name:pageid:lid[:section],… (default: china, macro, us_stocks)"
    )
    args = parser.parse_args(argv)
    channels = tuple(iter_channels(args.channels)) if args.channels else DEFAULT_CHANNELS
    started = time.perf_counter()
    mirror = Mirror(args.articles, channels)
    print(
        f"mirror of {len(mirror.articles)} articles built in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(MirrorServer(mirror).serve(args.port, args.ready_file))


if __name__ == "__main__":
    main()
