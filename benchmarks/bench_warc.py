"""Writing page captures: warcio (what newsspider uses) against fastwarc, on the golden pages.

Each writes N response records (the golden pages, 60–79 KB, with a status line and headers),
each its own gzip member, as ``ARCHIVE_WARC`` does, plus newsspider's reading of one record
back (``read_capture``). It only measures; no figure is asserted anywhere.

    python benchmarks/bench_warc.py                 # N = 2000, 3 rounds, the best of each
    python benchmarks/bench_warc.py --records 500 --rounds 1
"""

from __future__ import annotations

import argparse
import io
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from newsspider.archive.warc import (  # noqa: E402
    PageCapture,
    WarcLocation,
    WarcWriter,
    read_capture,
    warc_folder,
)
from tests.utils.content import GOLDENS  # noqa: E402

HEADERS = (("Content-Type", "text/html; charset=utf-8"), ("Server", "nginx"))


def pages(count: int) -> list[PageCapture]:
    now = datetime.now(UTC)
    return [
        PageCapture(
            url=GOLDENS[i % len(GOLDENS)].url,
            method="GET",
            request_headers=(("User-Agent", "newsspider"),),
            status=200,
            reason="OK",
            protocol="HTTP/1.1",
            headers=HEADERS,
            body=GOLDENS[i % len(GOLDENS)].page.encode("utf-8"),
            fetched_at=now,
            metadata=None,
        )
        for i in range(count)
    ]


def write_warcio(folder: Path, batch: list[PageCapture]) -> Path:
    """newsspider's writer (warcio underneath): response + request record per page, one
    flush per 16 pages (fsync off: the disk is not what is measured)."""
    writer = WarcWriter(folder, maxsize=1 << 40, fsync=False)
    writer.open()
    for start in range(0, len(batch), 16):
        writer.write(batch[start : start + 16])
    writer.close()
    return next(warc_folder(folder).glob("*.warc.gz"))


def write_fastwarc(folder: Path, batch: list[PageCapture], level: int = 9) -> Path:
    """The same records with fastwarc: each record gzipped as a member of its own, at
    ``level`` (fastwarc's default is 9; newsspider's writer uses 1)."""
    from fastwarc.stream_io import GzipWriter
    from fastwarc.warc import WarcRecord, WarcRecordType

    path = folder / "fastwarc.warc.gz"
    with open(path, "ab") as out:
        for page in batch:
            head = f"HTTP/1.1 {page.status} {page.reason}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in page.headers) + "\r\n"
            for kind, content in (
                (WarcRecordType.response, head.encode("latin-1") + page.body),
                (WarcRecordType.request, b"GET / HTTP/1.1\r\nUser-Agent: newsspider\r\n\r\n"),
            ):
                record = WarcRecord()
                record.init_headers(kind, str(uuid.uuid4()).encode())
                record.headers["WARC-Target-URI"] = page.url
                record.headers["Content-Type"] = "application/http; msgtype=response"
                record.set_bytes_content(content)
                member = io.BytesIO()
                stream = GzipWriter(member, compression_level=level)
                record.write(stream, checksum_data=True)
                stream.close()
                out.write(member.getvalue())
    return path


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    batch = pages(args.records)
    megabytes = sum(len(p.body) for p in batch) / 1e6
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}")
    print(f"# {args.records} pages, {megabytes:.1f} MB of HTML; best of {args.rounds} round(s)")
    best: dict[str, tuple[float, int]] = {}
    for _ in range(args.rounds):
        writers: tuple[tuple[str, Callable[[Path, list[PageCapture]], Path]], ...] = (
            ("warcio (newsspider's writer, level 1)", write_warcio),
            ("fastwarc level 1", lambda f, b: write_fastwarc(f, b, 1)),
            ("fastwarc level 9", write_fastwarc),
        )
        for name, write in writers:
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                size = write(Path(tmp), batch).stat().st_size
                seconds = time.perf_counter() - started
                if name not in best or seconds < best[name][0]:
                    best[name] = (seconds, size)
    for name, (seconds, size) in best.items():
        rate = args.records / seconds
        print(
            f"write {name:38}: {rate:6.0f} pages/s, {megabytes / seconds:6.1f} MB/s of HTML,"
            f" {seconds * 1e3 / args.records:.2f} ms/page, file {size / 1e6:.1f} MB"
        )
    # Reading one page back at its location, as scrapy rebuild does.
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        writer = WarcWriter(folder, maxsize=1 << 40, fsync=False)
        writer.open()
        locations: list[WarcLocation] = writer.write(batch)
        writer.close()
        seconds = min(
            timed(lambda: [read_capture(warc_folder(folder), loc) for loc in locations])
            for _ in range(args.rounds)
        )
        print(
            f"{'read_capture (one page at its location)':44}: "
            f"{args.records / seconds:6.0f} pages/s, {seconds * 1e3 / args.records:.2f} ms/page"
        )


if __name__ == "__main__":
    main()
