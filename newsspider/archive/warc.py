"""The archive's page captures: gzip WARC files of the pages crawls fetched, and their reading.

Files live in ``ARCHIVE_DIR/.newsspider/warc/`` (``newsspider-<UTC time>-<n>.warc.gz``), each
record a gzip member of its own, as web archives write them. A fetched page is one group of
records: its ``response`` (status line, headers and body as received: still gzip-encoded when
the server sent it so), its ``request``, and, for an article, a ``metadata`` record (JSON: the
roll entry it was listed with, its channel and the URL the archive knows it by). A group is
found again by its :class:`WarcLocation`: the file and the offset of its response record.

Durability: :meth:`WarcWriter.write` returns the groups' locations only once they are flushed
(and, with ``fsync``, on disk), so an index row never points at a record a crash cut off. A file
being written is named in ``warc/writing``; when a process is killed mid-write, the next
:meth:`WarcWriter.open` finds that note and cuts the file back to its last complete record
(:func:`complete_length`), so earlier records stay readable and the cut-off one is gone.

Nothing here knows Scrapy: plain values in (:class:`PageCapture`), plain values out
(:class:`CapturedPage`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsspider.archive.files import sync_folder, write_atomic

WARC_DIR = "warc"
"""Under ``ARCHIVE_DIR/.newsspider/``."""
WRITING_NOTE = "writing"
"""The note naming the file a writer has open (see the module docstring)."""
SUFFIX = ".warc.gz"
METADATA_TYPE = "application/vnd.newsspider.page+json"

# Content-Encodings a WARC reader (warcio) decodes; a page sent in another is not recorded,
# since no reader would give back the bytes the extractor saw. (Not br: warcio 1.8.1 fails on
# the brotli module's current decompressor.)
READABLE_ENCODINGS = frozenset({"", "identity", "gzip", "deflate"})
ACCEPT_ENCODING = "gzip, deflate"
"""What a captured request accepts: only encodings a WARC reader decodes."""

# Headers of the response that no longer describe the body as recorded: the HTTP client took
# the chunks apart, so the body is recorded whole and the header kept under another name.
_REWRITTEN = {"transfer-encoding": "X-Archive-Orig-Transfer-Encoding"}
_READ_CHUNK = 1 << 16
# The fastest level: the crawl's process pays for it (off the reactor, but on its CPUs). On the
# golden pages level 1 takes about half the time of zlib's default (6) and a third of warcio's
# own (9), for files about 12 % larger (33 % of the HTML instead of 31 %).
_GZIP_LEVEL = 1


class CaptureUnreadable(Exception):
    """A capture that cannot be read back whole (a file cut off or damaged, gone, or not
    newsspider's group of records)."""


@dataclass(frozen=True)
class WarcLocation:
    """Where a captured page is: its file's name (in the ``warc`` folder) and the offset of its
    response record."""

    file: str
    offset: int

    def __str__(self) -> str:
        return f"{self.file}@{self.offset}"


@dataclass(frozen=True)
class PageCapture:
    """One fetched page to record, as it came: the request sent, the status, protocol and
    headers received, and the body as received (before any Content-Encoding was decoded).
    ``metadata`` (JSON-ready) is recorded beside it for an article, None for a roll page."""

    url: str
    method: str
    request_headers: tuple[tuple[str, str], ...]
    status: int
    reason: str
    protocol: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class CapturedPage:
    """A captured page read back: ``body`` is what the crawl's extractor saw (the
    Content-Encoding decoded), ``headers`` the response's as received (with
    ``Content-Encoding``), ``metadata`` the article's record (empty for a roll page)."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    metadata: dict[str, Any] = field(default_factory=dict)


def warc_folder(root: Path) -> Path:
    """The captures' folder of the archive at ``root``."""
    return root / ".newsspider" / WARC_DIR


def complete_length(path: Path) -> int:
    """How many bytes at the start of the gzip file ``path`` are whole gzip members (records):
    the length to cut it back to. A member that ends early or fails its CRC ends the count."""
    good = 0
    with open(path, "rb") as handle:
        data = b""
        position = 0  # file offset of data[0]
        while True:
            if not data:
                data = handle.read(_READ_CHUNK)
                if not data:
                    return good
            inflater = zlib.decompressobj(wbits=31)
            member_start = position
            try:
                while not inflater.eof:
                    inflater.decompress(data)
                    if inflater.eof:
                        break
                    position += len(data)
                    data = handle.read(_READ_CHUNK)
                    if not data:
                        return good  # cut off inside this member
            except zlib.error:
                return good
            rest = inflater.unused_data
            position += len(data) - len(rest)
            data = rest
            if position <= member_start:
                return good
            good = position


def _read_members(handle: IO[bytes], count: int) -> bytes:
    """Decompress up to ``count`` whole gzip members from the handle's position (fewer at the
    end of the file); :class:`CaptureUnreadable` for one cut off or damaged."""
    out = bytearray()
    data = b""
    for _ in range(count):
        if not data:
            data = handle.read(_READ_CHUNK)
            if not data:
                break
        inflater = zlib.decompressobj(wbits=31)
        try:
            while True:
                out += inflater.decompress(data)
                if inflater.eof:
                    break
                data = handle.read(_READ_CHUNK)
                if not data:
                    raise CaptureUnreadable("the file ends inside a record (cut off)")
        except zlib.error as exc:
            raise CaptureUnreadable(f"a damaged record ({exc})") from None
        data = inflater.unused_data
    return bytes(out)


def read_capture(folder: Path, location: WarcLocation) -> CapturedPage:
    """The page captured at ``location`` (its response record and the records written with
    it), reading only that group of records. :class:`CaptureUnreadable` when it cannot be
    read back whole."""
    if "/" in location.file or location.file.startswith(".") or location.offset < 0:
        raise CaptureUnreadable(f"not a capture location: {location}")
    try:
        with open(folder / location.file, "rb") as handle:
            handle.seek(location.offset)
            raw = _read_members(handle, 3)
    except OSError as exc:
        raise CaptureUnreadable(f"cannot read {location.file} ({exc.strerror})") from None
    response: CapturedPage | None = None
    response_id = None
    metadata: dict[str, Any] = {}
    try:
        for record in ArchiveIterator(io.BytesIO(raw)):
            kind = record.rec_type
            if response is None:
                if kind != "response" or record.http_headers is None:
                    raise CaptureUnreadable(f"no response record at {location}")
                response_id = record.rec_headers.get_header("WARC-Record-ID")
                response = CapturedPage(
                    url=str(record.rec_headers.get_header("WARC-Target-URI")),
                    status=int(record.http_headers.get_statuscode()),
                    headers=tuple(record.http_headers.headers),
                    body=record.content_stream().read(),
                )
            elif record.rec_headers.get_header("WARC-Concurrent-To") != response_id:
                break  # the next page's records
            elif kind == "metadata":
                metadata = json.loads(record.content_stream().read())
            else:
                record.content_stream().read()
    except CaptureUnreadable:
        raise
    except Exception as exc:  # warcio, zlib or json on bytes that are not what we wrote
        raise CaptureUnreadable(f"an unreadable record at {location} ({exc})") from None
    if response is None:
        raise CaptureUnreadable(f"no record at {location}")
    if not isinstance(metadata, dict):
        raise CaptureUnreadable(f"unreadable page metadata at {location}")
    return CapturedPage(response.url, response.status, response.headers, response.body, metadata)


def _status_line_protocol(protocol: str) -> str:
    # WARC readers parse HTTP headers of HTTP/1.x records only; an HTTP/2 answer is written
    # as one, its real protocol in WARC-Protocol.
    return protocol if protocol in ("HTTP/1.0", "HTTP/1.1") else "HTTP/1.1"


def _recorded_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(_REWRITTEN.get(name.lower(), name), value) for name, value in headers]


class WarcWriter:
    """Appends page captures to the archive's WARC files (one writer per archive: the archive
    lock's holder), starting a new file once the current one holds ``maxsize`` bytes.

    Not thread-safe: one thread uses it. ``fsync``: groups are on disk before :meth:`write`
    returns their locations (else flushed to the OS only: safe from a killed process, not
    from a power cut).
    """

    def __init__(self, root: Path, *, maxsize: int, fsync: bool = True) -> None:
        self.folder = warc_folder(root)
        self.maxsize = maxsize
        self.fsync = fsync
        self.cut_back = 0
        """Bytes of cut-off records removed by :meth:`open`."""
        self._handle: IO[bytes] | None = None
        self._name = ""
        self._writer: Any = None
        self._record = io.BytesIO()

    def _put(self, record: Any) -> None:
        """Append ``record`` to the file as one gzip member, in one write."""
        assert self._handle is not None
        self._record.seek(0)
        self._record.truncate()
        self._writer.write_record(record)
        deflate = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 31)
        self._handle.write(deflate.compress(self._record.getvalue()) + deflate.flush())

    def open(self) -> None:
        """Repair what a killed writer left (see the module docstring) and open the newest
        file, or a new one, for appending."""
        self.folder.mkdir(parents=True, exist_ok=True)
        note = self.folder / WRITING_NOTE
        try:
            left = note.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            left = ""
        if left and "/" not in left and (self.folder / left).is_file():
            path = self.folder / left
            keep = complete_length(path)
            size = path.stat().st_size
            if keep < size:
                with open(path, "r+b") as handle:
                    handle.truncate(keep)
                    os.fsync(handle.fileno())
                self.cut_back = size - keep
        files = sorted(p.name for p in self.folder.glob(f"newsspider-*{SUFFIX}"))
        if files and (self.folder / files[-1]).stat().st_size < self.maxsize:
            self._start(files[-1])
        else:
            self._start(self._new_name(files))

    def _new_name(self, existing: Sequence[str]) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        number = len(existing)
        while True:
            name = f"newsspider-{stamp}-{number:05d}{SUFFIX}"
            if name not in existing and not (self.folder / name).exists():
                return name
            number += 1

    def _start(self, name: str) -> None:
        # The note first: a file this writer appends to is always named in it.
        write_atomic(self.folder / WRITING_NOTE, name.encode("utf-8"), fsync=self.fsync)
        self._handle = open(self.folder / name, "ab")  # noqa: SIM115
        self._name = name
        self._writer = WARCWriter(self._record, gzip=False, warc_version="1.1")
        if self._handle.tell() == 0:
            info = {"software": "newsspider", "format": "WARC File Format 1.1"}
            self._put(self._writer.create_warcinfo_record(name, info))
        if self.fsync:
            sync_folder(self.folder)

    def write(self, pages: Sequence[PageCapture]) -> list[WarcLocation]:
        """Record each page (one group of records), then make them durable at once; their
        locations, in order. When a page cannot be written (a full disk), what this call wrote
        of the current file is taken back, and the error raised."""
        if self._handle is None:
            raise RuntimeError("the WARC writer is not open")
        locations = []
        start = self._handle.tell()
        try:
            for page in pages:
                if self._handle.tell() >= self.maxsize:
                    self._rotate()
                    start = self._handle.tell()
                locations.append(self._write_group(page))
        except BaseException:
            self._take_back(start)
            raise
        self._handle.flush()
        if self.fsync:
            os.fsync(self._handle.fileno())
        return locations

    def _take_back(self, start: int) -> None:
        assert self._handle is not None
        with contextlib.suppress(OSError):  # what did not reach the file needs no taking back
            self._handle.flush()
        self._handle.truncate(start)
        self._handle.seek(start)

    def _rotate(self) -> None:
        assert self._handle is not None
        self._handle.flush()
        if self.fsync:
            os.fsync(self._handle.fileno())
        self._handle.close()
        self._start(self._new_name(sorted(p.name for p in self.folder.glob(f"*{SUFFIX}"))))

    def _write_group(self, page: PageCapture) -> WarcLocation:
        assert self._handle is not None
        writer = self._writer
        date = page.fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        offset = self._handle.tell()
        protocol = _status_line_protocol(page.protocol)
        response_headers = {"WARC-Date": date}
        if protocol != page.protocol:
            response_headers["WARC-Protocol"] = page.protocol.lower()
        response = writer.create_warc_record(
            page.url,
            "response",
            payload=io.BytesIO(page.body),
            length=len(page.body),
            warc_headers_dict=response_headers,
            http_headers=StatusAndHeaders(
                f"{page.status} {page.reason}".strip(),
                _recorded_headers(page.headers),
                protocol=protocol,
            ),
        )
        self._put(response)
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        linked = {"WARC-Date": date, "WARC-Concurrent-To": response_id}
        target = _request_target(page.url)
        request = writer.create_warc_record(
            page.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            warc_headers_dict=dict(linked),
            http_headers=StatusAndHeaders(
                f"{page.method} {target} {protocol}",
                list(page.request_headers),
                is_http_request=True,
            ),
        )
        self._put(request)
        if page.metadata is not None:
            data = json.dumps(page.metadata, ensure_ascii=False, sort_keys=True).encode()
            metadata = writer.create_warc_record(
                page.url,
                "metadata",
                payload=io.BytesIO(data),
                length=len(data),
                warc_content_type=METADATA_TYPE,
                warc_headers_dict=dict(linked),
            )
            self._put(metadata)
        return WarcLocation(self._name, offset)

    def close(self) -> None:
        """Flush, sync and close; the note goes, since the file is whole. A second call does
        nothing."""
        if self._handle is None:
            return
        self._handle.flush()
        if self.fsync:
            os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        (self.folder / WRITING_NOTE).unlink(missing_ok=True)


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
