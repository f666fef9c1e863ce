"""In-process mock of the Sina Finance servers (stdlib only).

Implements the "Mirror URL convention" and "Roll API" of ``tests/data/sina/README.md``: the real
URL ``https://HOST/PATH?QUERY`` is served at ``http://127.0.0.1:PORT/HOST/PATH?QUERY``.

What it serves (golden pairs, synthetic articles, roll pages) is modelled in
:mod:`utils.content`, shared with the benchmark mirror. Run by hand from the repo root::

    python -m tests.utils.mocksina --golden tests/data/sina/golden --port 8000
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import pathlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import unquote, urljoin, urlsplit

from .content import ROLL_PATHS, Golden, RollQuery, Rolls, SyntheticArticle, load_goldens
from .content import synthetic_article as make_synthetic_article
from .service import Service


@dataclass
class _Page:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None  # real URL; rewritten to the mirror form when answering
    chunked: bool = False  # sent without Content-Length, in chunks
    gzipped: bool = False  # sent gzip-encoded (Content-Encoding: gzip)


def _to_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


class MockSina(Service):
    """A mock Sina mirror; see the module docstring for the URL convention.

    Content may be added before or after :meth:`start`. Page lookups ignore the query string
    and compare percent-decoded paths; hosts are case-insensitive.
    """

    def __init__(self) -> None:
        self.base_url: str = ""
        self.requests: list[str] = []
        self.request_headers: list[tuple[str, dict[str, str]]] = []
        self._failing: dict[str, tuple[int, int]] = {}  # key -> (answers left, status)
        self._lock = threading.Lock()
        self._pages: dict[str, _Page] = {}
        self._rolls = Rolls()
        self._raw: dict[tuple[str, str, int], _Page] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- URL mapping -------------------------------------------------------------------------
    def mirror_path(self, url_or_path: str) -> str:
        """Mirror request target for a real URL (``/HOST/PATH?QUERY``); mirror paths and full
        mirror URLs (``http://127.0.0.1:PORT/...``) are returned as their target unchanged."""
        if url_or_path.startswith("/"):
            return url_or_path
        parts = urlsplit(url_or_path)
        query = f"?{parts.query}" if parts.query else ""
        if self.base_url and f"{parts.scheme}://{parts.netloc}" == self.base_url:
            return (parts.path or "/") + query
        return f"/{parts.netloc.lower()}{parts.path or '/'}{query}"

    def mirror_url(self, url: str) -> str:
        """Full mirror URL (needs :meth:`start`) for a real URL."""
        return self.base_url + self.mirror_path(url)

    @staticmethod
    def _key(target: str) -> str:
        path = unquote(target.split("?", 1)[0])
        host, sep, rest = path[1:].partition("/")
        return f"/{host.lower()}{sep}{rest}"

    # ---- content -----------------------------------------------------------------------------
    def add_page(
        self,
        url: str,
        body: bytes | str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str = "text/html; charset=utf-8",
        chunked: bool = False,
        gzipped: bool = False,
    ) -> None:
        """Serve ``body`` for real ``url`` (query ignored). A ``Content-Type`` in ``headers``
        overrides ``content_type``; ``ETag``/``Last-Modified`` there enable 304 answers.
        ``chunked`` sends it without a Content-Length; ``gzipped`` sends it gzip-encoded
        (``Content-Encoding: gzip``)."""
        hdrs = {"Content-Type": content_type}
        for name, value in (headers or {}).items():
            if name.lower() == "content-type":
                hdrs.pop("Content-Type")
            hdrs[name] = value
        self._pages[self._key(self.mirror_path(url))] = _Page(
            _to_bytes(body), status, hdrs, chunked=chunked, gzipped=gzipped
        )

    def add_picture(self, url: str, body: bytes, content_type: str = "image/png") -> None:
        """Serve the picture ``body`` for real ``url`` (query ignored)."""
        self.add_page(url, body, content_type=content_type)

    def fail_next(self, url: str, times: int = 1, status: int = 503) -> None:
        """Answer the next ``times`` requests for ``url`` with ``status`` (an HTML error page),
        then what it serves."""
        self._failing[self._key(self.mirror_path(url))] = (times, status)

    def add_redirect(self, url: str, location: str, status: int = 302) -> None:
        """Answer ``url`` with ``status`` and ``Location`` = mirror form of ``location``
        (resolved against ``url`` when relative)."""
        self._pages[self._key(self.mirror_path(url))] = _Page(
            b"", status, {"Content-Type": "text/html; charset=utf-8"}, urljoin(url, location)
        )

    def set_roll(self, pageid: int | str, lid: int | str, items: list[dict[str, Any]]) -> None:
        """Set the list served for ``pageid``/``lid`` (order kept: newest first by convention)."""
        self._rolls.set(pageid, lid, items)

    def set_roll_raw(
        self,
        pageid: int | str,
        lid: int | str,
        page: int,
        body: bytes | str,
        content_type: str = "application/json",
        status: int = 200,
    ) -> None:
        """Answer roll page ``page`` of ``pageid``/``lid`` with ``body`` verbatim (no
        ``callback`` wrapping), whatever ``num`` is."""
        self._raw[(str(pageid), str(lid), page)] = _Page(
            _to_bytes(body), status, {"Content-Type": content_type}
        )

    def add_golden(self, golden: Golden) -> dict[str, Any]:
        """Serve the golden page at its URL; return its roll item."""
        self.add_page(golden.url, golden.page.encode("utf-8"))
        return golden.item

    def add_article(self, article: SyntheticArticle) -> dict[str, Any]:
        """Serve a synthetic article's page at its URL; return its roll item."""
        self.add_page(article.url, article.page)
        return article.item

    @classmethod
    def from_golden(
        cls, golden_root: pathlib.Path, pageid: int | str = 155, lid: int | str = 1686
    ) -> MockSina:
        """Mock with every golden pair under ``golden_root`` and roll ``pageid``/``lid`` set to
        their items, newest first by ``int(intime)``."""
        mock = cls()
        items = [mock.add_golden(golden) for golden in load_goldens(pathlib.Path(golden_root))]
        mock.set_roll(pageid, lid, sorted(items, key=lambda i: int(i["intime"]), reverse=True))
        return mock

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        """Start serving on ``127.0.0.1:port`` (0 = any free port) in a daemon thread; return
        and set :attr:`base_url`."""
        if self._server is not None:
            return self.base_url
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.mock = self
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            daemon=True,
            kwargs={"poll_interval": 0.05},
            name="MockSina",
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop the server and close its socket (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server = self._thread = None

    # ---- observation -------------------------------------------------------------------------
    def _record(self, target: str, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self.requests.append(target)
            self.request_headers.append((target, dict(headers or {})))

    def headers_of(self, url_or_path: str) -> list[dict[str, str]]:
        """The headers (lower-case names) of each request received for a real URL, query
        ignored."""
        key = self._key(self.mirror_path(url_or_path))
        with self._lock:
            seen = list(self.request_headers)
        return [headers for target, headers in seen if self._key(target) == key]

    def count(self, url_or_path: str) -> int:
        """Requests received for a real URL, mirror path or mirror URL. Without a query string
        the query of requests is ignored; with one, the request target must match exactly."""
        target = self.mirror_path(url_or_path)
        with self._lock:
            seen = list(self.requests)
        if "?" in target:
            return seen.count(target)
        return sum(self._key(t) == self._key(target) for t in seen)

    # ---- answering ---------------------------------------------------------------------------
    def _roll(self, query: str) -> _Page:
        request = RollQuery.parse(query)
        raw = self._raw.get((request.pageid, request.lid, request.page))
        if raw is not None:
            return raw
        body, content_type = self._rolls.answer(request)
        return _Page(body, 200, {"Content-Type": content_type})

    def _answer(self, target: str, req_headers: dict[str, str]) -> _Page:
        path, _, query = target.partition("?")
        if path in ROLL_PATHS:
            return self._roll(query)
        with self._lock:
            left, status = self._failing.get(self._key(target), (0, 0))
            if left:
                self._failing[self._key(target)] = (left - 1, status)
        if left:
            return _Page(
                f"<html><body><h1>{status}</h1></body></html>".encode(),
                status,
                {"Content-Type": "text/html; charset=utf-8"},
            )
        page = self._pages.get(self._key(target))
        if page is None:
            return _Page(
                b"<html><body><h1>404 Not Found</h1></body></html>",
                404,
                {"Content-Type": "text/html; charset=utf-8"},
            )
        if page.location is not None:
            return _Page(
                page.body, page.status, {**page.headers, "Location": self.mirror_url(page.location)}
            )
        lower = {k.lower(): v for k, v in page.headers.items()}
        inm, ims = req_headers.get("if-none-match"), req_headers.get("if-modified-since")
        if "etag" in lower and inm is not None:
            fresh = lower["etag"] in {t.strip() for t in inm.split(",")} or inm.strip() == "*"
        else:
            fresh = ims is not None and lower.get("last-modified") == ims
        if fresh and page.status == 200:
            keep = {k: v for k, v in page.headers.items() if k.lower() in ("etag", "last-modified")}
            return _Page(b"", 304, keep)
        return page


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    mock: MockSina

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silence tracebacks from clients that hang up early."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def _serve(self, with_body: bool) -> None:
        mock = cast(_Server, self.server).mock
        headers = {k.lower(): v for k, v in self.headers.items()}
        mock._record(self.path, headers)
        page = mock._answer(self.path, headers)
        self.send_response(page.status)
        for name, value in page.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        if page.gzipped and page.status != 304:
            # mtime=0: the same bytes on every answer.
            page = dataclasses.replace(page, body=gzip.compress(page.body, mtime=0))
            self.send_header("Content-Encoding", "gzip")
        if page.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif page.status != 304:
            self.send_header("Content-Length", str(len(page.body)))
        self.end_headers()
        if with_body and page.chunked:
            for start in range(0, len(page.body), 16384):
                chunk = page.body[start : start + 16384]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif with_body and page.status != 304:
            self.wfile.write(page.body)

    def do_GET(self) -> None:
        self._serve(True)

    def do_HEAD(self) -> None:
        self._serve(False)

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request logging."""


def serve_synthetic(
    server: MockSina, count: int | Iterable[int], pageid: int = 155, lid: int = 1686
) -> list[str]:
    """Serve synthetic articles (``count`` of them, or these indexes) and list them, in that
    order, as the whole roll of ``pageid``/``lid``; returns their URLs."""
    indexes = range(count) if isinstance(count, int) else count
    items = [server.add_article(make_synthetic_article(index)) for index in indexes]
    server.set_roll(pageid, lid, items)
    return [item["url"] for item in items]


def main(argv: list[str] | None = None) -> None:
    """CLI: serve a golden set (roll 155/1686) and optional roll files until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--golden", type=pathlib.Path, help="dir of golden/<slug>/ dirs")
    parser.add_argument(
        "--roll",
        type=pathlib.Path,
        action="append",
        default=[],
        help="roll/<pageid>-<lid>.json file to serve (repeatable)",
    )
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    mock = MockSina.from_golden(args.golden) if args.golden else MockSina()
    for roll in args.roll:
        pageid, _, lid = roll.stem.partition("-")
        mock.set_roll(pageid, lid, json.loads(roll.read_text(encoding="utf-8")))
    base = mock.start(args.port)
    print(
        f"MockSina serving at {base}  (e.g. {base}/feed.mix.sina.com.cn/api/roll/get"
        "?pageid=155&lid=1686&num=50&page=1)",
        flush=True,
    )
    for key in sorted(mock._pages):
        print(f"  {base}{key}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        mock.stop()


if __name__ == "__main__":
    main()
