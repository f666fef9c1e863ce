"""A synthetic Sina mirror for the crawl benchmark, served fast from memory.

The mirror holds ``N`` synthetic articles made from the golden pages in
``tests/data/sina/golden`` (each one golden page with a distinct docid, title and date, so it
keeps the golden page's size, 60-80 KB), listed by one of a few roll channels. What it serves is
the tests' content model, ``tests/utils/content.py`` (golden pairs, synthetic articles, roll
pages and their envelope), so it answers as the tests' mock does, following the "Mirror URL
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
from collections.abc import Sequence
from datetime import datetime

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.utils.content import (  # noqa: E402  (the repo root is not on the path of a script)
    BEIJING,
    GOLDEN,
    ROLL_PATHS,
    Channel,
    RollQuery,
    Rolls,
    SyntheticArticle,
    Timeline,
    load_goldens,
    plan_articles,
)

# Names as in newsspider/sina/channels.py; the section is the URL path of their articles.
DEFAULT_CHANNELS: tuple[Channel, ...] = (
    Channel("china", 155, 1686, "china"),
    Channel("macro", 155, 1687, "china"),
    Channel("us_stocks", 384, 2672, "stock/usstock/c"),
)
ROLL_TIMESTAMP = "Tue Dec 31 12:00:00 +0800 2024"
NUM = 50  # the crawl's default -a num; other page sizes are rendered on demand
# The newest article at 2024-12-31 12:00 Beijing; article i is listed 97 s * i earlier.
TIMELINE = Timeline(int(datetime(2024, 12, 31, 12, 0, 0, tzinfo=BEIJING).timestamp()), 97)


def plan(
    count: int,
    channels: Sequence[Channel] = DEFAULT_CHANNELS,
    golden_dir: pathlib.Path = GOLDEN,
) -> list[SyntheticArticle]:
    """The mirror's articles, newest first (see ``plan_articles``): the harness and the server
    compute the same list."""
    goldens = load_goldens(golden_dir)
    if not goldens:
        raise SystemExit(f"no golden pages under {golden_dir}")
    return plan_articles(count, channels, TIMELINE, goldens)


def roll_pages(count: int, channels: int = len(DEFAULT_CHANNELS), num: int = NUM) -> int:
    """Roll pages per channel that list every article (the crawl's ``-a pages``)."""
    per_channel = math.ceil(count / channels)
    return max(1, math.ceil(per_channel / num))


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


NOT_FOUND = _response(
    "404 Not Found", "text/html; charset=utf-8", b"<html><body><h1>404 Not Found</h1></body></html>"
)


class Mirror:
    """Every answer of the mirror, pre-rendered, keyed by request target (path, no query, for
    pages; ``(pageid, lid, num, page)`` for roll pages)."""

    def __init__(
        self,
        count: int,
        channels: Sequence[Channel] = DEFAULT_CHANNELS,
        golden_dir: pathlib.Path = GOLDEN,
    ) -> None:
        self.articles = plan(count, channels, golden_dir)
        self.pages: dict[str, bytes] = {}
        self.rolls = Rolls(ROLL_TIMESTAMP)
        self.roll_cache: dict[tuple[str, str, int, int], bytes] = {}
        self.page_bytes = 0
        for article in self.articles:
            body = article.page.encode("utf-8")
            self.page_bytes += len(body)
            key = "/" + article.url.removeprefix("https://")
            self.pages[key] = _response("200 OK", "text/html; charset=utf-8", body)
            self.rolls.append(article.channel.pageid, article.channel.lid, article.item)
        for pageid, lid in self.rolls.lists:
            for page in range(1, self.rolls.pages(pageid, lid, NUM) + 2):
                self.roll(RollQuery(pageid, lid, page, NUM))

    def roll(self, query: RollQuery) -> bytes:
        key = (query.pageid, query.lid, query.num, query.page)
        found = self.roll_cache.get(key)
        if found is None:
            body, content_type = self.rolls.answer(query)
            found = _response("200 OK", content_type, body)
            if query.callback is None:
                self.roll_cache[key] = found
        return found

    def answer(self, target: str) -> tuple[str, bytes]:
        """``(kind, response bytes)`` for a request target; kind is roll, article or 404."""
        path, _, query = target.partition("?")
        found = self.pages.get(path)
        if found is not None:
            return "article", found
        if path in ROLL_PATHS:
            return "roll", self.roll(RollQuery.parse(query))
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8000, help="0: any free port")
    parser.add_argument("--ready-file", help="write the READY line (with the URL) here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    mirror = Mirror(args.articles)
    print(
        f"mirror of {len(mirror.articles)} articles built in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(MirrorServer(mirror).serve(args.port, args.ready_file))


if __name__ == "__main__":
    main()
