"""Earlier versions of posts: ``ARCHIVE_DIR/.newsspider/history/<post path without .md>/``,
and the record of every version, of which the index keeps one row each
(:class:`~newsspider.archive.index.VersionRow`).

Before a post is overwritten its previous bytes are kept here as ``<UTC time>-<sha256[:12]>.md``,
so no rewrite loses text. Hexo ignores the dot folder.

Every write records the version it made: when, why (:class:`WriteReason`), its SHA-256 and size,
and, once a later write replaces it, the history file that holds it
(:func:`versions_written` makes those records from what :func:`~newsspider.archive.store.put_post`
did; :meth:`~newsspider.archive.store.ArchiveStore.written` journals and records them with the
row). :func:`post_versions` lists a post's versions from those records alone, without reading
their bytes; history files no record names (kept by an earlier release, or by the index repair)
are listed too, with reason ``unknown``.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from newsspider.archive.files import write_atomic
from newsspider.archive.index import STATE_DIR, ArchiveIndex, VersionRow
from newsspider.archive.naming import POST_SUFFIX

HISTORY_DIR = "history"
UNKNOWN = "unknown"
"""What the list says of a version whose reason no record gives."""

_STAMP = "%Y%m%dT%H%M%S.%fZ"
_KEPT_NAME = re.compile(r"^(\d{8}T\d{6}\.\d{6}Z)-([0-9a-f]{12})" + re.escape(POST_SUFFIX) + "$")


class WriteReason(StrEnum):
    """Why a version of a post was written."""

    CRAWL = "crawl"
    """A crawl fetched the article (``sina_finance``, and any spider that names no reason)."""
    REFRESH = "refresh"
    """``scrapy refresh`` found the article changed."""
    REBUILD = "rebuild"
    """The post was rendered again from a captured page, without fetching it."""
    ADOPTION = "adoption"
    """A crawl found the post on disk, unknown to the index, and took it over (rewritten or
    not)."""
    IMPORT = "import"
    """Imported from another archive."""


@dataclass(frozen=True)
class Kept:
    """The previous bytes of a post, moved to history by a write: the file (relative to the
    archive root, POSIX), their SHA-256 and their size."""

    file: str
    sha256: str
    size: int


def history_folder(root: Path, relative: str) -> Path:
    """Where the earlier versions of the post at ``relative`` are kept."""
    return root / STATE_DIR / HISTORY_DIR / relative.removesuffix(POST_SUFFIX)


def keep_version(
    root: Path, relative: str, data: bytes, *, fsync: bool = True, at: datetime | None = None
) -> Path:
    """Keep ``data`` as an earlier version of the post at ``relative``, replaced at ``at``
    (now when not given: the file's name says it); returns its file."""
    stamp = (at or datetime.now(UTC)).astimezone(UTC).strftime(_STAMP)
    digest = hashlib.sha256(data).hexdigest()[:12]
    target = history_folder(root, relative) / f"{stamp}-{digest}{POST_SUFFIX}"
    write_atomic(target, data, fsync=fsync)
    return target


def find_version(root: Path, relative: str, sha256: str) -> bytes | None:
    """The kept version of the post at ``relative`` whose SHA-256 is ``sha256``, or None."""
    folder = history_folder(root, relative)
    try:
        candidates = sorted(folder.glob(f"*-{sha256[:12]}{POST_SUFFIX}"), reverse=True)
    except OSError:
        return None
    for candidate in candidates:
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    return None


def iso(moment: datetime) -> str:
    """A version's time as the records hold it: ISO 8601 UTC, to the microsecond."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def versions_written(
    relative: str,
    *,
    at: datetime,
    why: WriteReason,
    sha256: str,
    size: int,
    kept: Kept | None = None,
) -> tuple[VersionRow, ...]:
    """The records of one write of the post at ``relative``: the version it replaced, now in
    ``kept`` (when it replaced one), then the version it wrote (``sha256``, ``size``), at
    ``at`` for ``why``. :meth:`~newsspider.archive.index.ArchiveIndex.put_version` records
    each; a record the index already has changes nothing."""
    records: list[VersionRow] = []
    if kept is not None:
        records.append(VersionRow(relative, None, None, kept.sha256, kept.size, kept.file))
    records.append(VersionRow(relative, iso(at), why.value, sha256, size))
    return tuple(records)


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One version of a post, as :func:`post_versions` lists it.

    ``number``: its place in the list, 1 for the oldest. ``at``: when it was written (ISO 8601
    UTC), None when unknown. ``why``: a :class:`WriteReason` value, or ``unknown``. ``file``:
    where its bytes are (relative to the archive root): the post itself for the current version,
    a history file for the others, None when they were not kept (the post was changed without
    this archive's writer). ``recorded``: whether the index records it (False for a version an
    earlier release kept; its SHA-256 was read from its file)."""

    number: int
    at: str | None
    why: str
    sha256: str
    size: int
    file: str | None
    current: bool
    recorded: bool


def _stamp_of(file: str) -> str | None:
    """The time in a history file's name (when that version was replaced), ISO 8601 UTC."""
    found = _KEPT_NAME.match(file.rsplit("/", 1)[-1])
    if found is None:
        return None
    s = found.group(1)  # what _STAMP wrote; sliced, as strptime costs more than the rest
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}.{s[16:22]}+00:00"


def _history_files(root: Path, relative: str) -> list[str]:
    """The history files of the post at ``relative`` (relative to ``root``), oldest first;
    names only are read (temp files of a write under way are not history)."""
    folder = history_folder(root, relative)
    try:
        names = [entry.name for entry in folder.iterdir() if _KEPT_NAME.match(entry.name)]
    except (OSError, ValueError):  # no history; or a name the file system cannot hold
        return []
    base = folder.relative_to(root).as_posix()
    return [f"{base}/{name}" for name in sorted(names)]


@dataclass
class _Entry:
    order: str  # when it was replaced (current: last), for sorting
    at: str | None
    why: str | None
    sha256: str | None
    size: int | None
    file: str | None
    current: bool
    recorded: bool


def post_versions(
    root: Path, index: ArchiveIndex, relative: str, *, current_sha256: str | None = None
) -> list[Version]:
    """The versions of the post at ``relative``, oldest first, the post on disk last.

    Sizes and hashes come from the index's records (``current_sha256``, the article's row,
    names the post's bytes when no record does); only a history file no record names, or a
    post whose hash nobody recorded, is read. A version's time, when no record gives it, is
    when the version before it was replaced (the time in that history file's name); the
    oldest one's is then unknown.
    """
    records = index.versions(relative)
    newest = records[-1] if records and records[-1].kept is None else None
    post = root / relative
    current = _current(post, relative, newest, current_sha256) if _is_file(post) else None
    by_file = {record.kept: record for record in records if record.kept is not None}
    entries: list[_Entry] = []
    for file in _history_files(root, relative):
        order = _stamp_of(file) or ""
        record = by_file.pop(file, None)
        if record is not None:
            entries.append(
                _Entry(order, record.at, record.why, record.sha256, record.size, file, False, True)
            )
            continue
        data = _read(root / file)
        if data is not None:
            digest = hashlib.sha256(data).hexdigest()
            entries.append(_Entry(order, None, None, digest, len(data), file, False, False))
    for record in records:
        in_use = record is newest and current is not None and current.recorded
        if (record.kept is None and not in_use) or record.kept in by_file:
            entries.append(_unplaced(record, entries))
    entries.sort(key=lambda entry: entry.order)
    if current is not None:
        entries.append(current)
    entries = _without_repeats(entries)
    versions = []
    replaced_at: str | None = None
    for number, entry in enumerate(entries, 1):
        versions.append(
            Version(
                number=number,
                at=entry.at or replaced_at,
                why=entry.why or UNKNOWN,
                sha256=entry.sha256 or "",
                size=entry.size or 0,
                file=entry.file,
                current=entry.current,
                recorded=entry.recorded,
            )
        )
        # The next version was written when this one was replaced (its history file's time).
        replaced_at = entry.order if entry.file is not None and not entry.current else None
    return versions


def _without_repeats(entries: list[_Entry]) -> list[_Entry]:
    """``entries`` without the history files that repeat the version after them: no write
    replaces a post with the same bytes, so such a file was kept by a write that was stopped
    before it wrote the post (the next write kept the same bytes again)."""
    kept: list[_Entry] = []
    for entry in entries:
        if kept and kept[-1].sha256 == entry.sha256 and not kept[-1].recorded:
            kept[-1] = entry
        elif not (kept and kept[-1].sha256 == entry.sha256 and not entry.recorded):
            kept.append(entry)
    return kept


def _unplaced(record: VersionRow, entries: list[_Entry]) -> _Entry:
    """A recorded version no record places: its bytes are the first history file no record
    names with its SHA-256 (kept by a write whose record a kill lost), which then takes the
    record's time and reason; else they are gone (a history file deleted, a post changed by
    hand), and it is listed where it was written."""
    for entry in entries:
        if not entry.recorded and entry.sha256 == record.sha256:
            entries.remove(entry)
            return _Entry(
                entry.order,
                record.at,
                record.why,
                record.sha256,
                entry.size,
                entry.file,
                False,
                True,
            )
    return _Entry(
        record.at or "", record.at, record.why, record.sha256, record.size, None, False, True
    )


def _current(
    post: Path, relative: str, newest: VersionRow | None, current_sha256: str | None
) -> _Entry:
    """The post on disk as the newest version: its record when the record and the article's
    row agree on its hash (or no row says otherwise), else the file's size and the row's hash
    (read from the file when there is no row)."""
    if newest is not None and current_sha256 in (None, newest.sha256):
        return _Entry("~", newest.at, newest.why, newest.sha256, newest.size, relative, True, True)
    size: int | None = None
    with contextlib.suppress(OSError):
        size = post.stat().st_size
    digest = current_sha256
    if digest is None:
        data = _read(post)
        digest = hashlib.sha256(data).hexdigest() if data is not None else None
    return _Entry("~", None, None, digest, size, relative, True, False)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (OSError, ValueError):
        return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, or with NUL
        return False


def version_bytes(root: Path, version: Version) -> bytes | None:
    """The bytes of ``version``, or None when they are not kept or cannot be read."""
    return _read(root / version.file) if version.file is not None else None


# --- one article's history, and diffs -----------------------------------------------------------


@dataclass(frozen=True)
class ArticleHistory:
    """The versions of one article's post (:func:`post_versions`): its index row's URL (None
    for a post the index does not know) and its path."""

    url: str | None
    path: str
    versions: tuple[Version, ...]


def _as_post_path(root: Path, target: str) -> str | None:
    """``target`` as a post path relative to ``root`` (given relative, or absolute under
    ``root``), or None when it cannot be one: outside the archive, in its state folder, not a
    ``.md`` file."""
    path = Path(target)
    if path.is_absolute():
        for base in (root, root.resolve()):
            with contextlib.suppress(ValueError):
                path = path.relative_to(base)
                break
        else:
            return None
    parts = path.parts
    if not parts or ".." in parts or parts[0] == STATE_DIR or path.suffix != POST_SUFFIX:
        return None
    return path.as_posix()


def article_history(root: Path, index: ArchiveIndex, target: str) -> ArticleHistory | None:
    """The history of the article ``target`` names: a URL the index knows (as given, or
    canonical, or by its docid), or a post path (relative to ``root``, or absolute under it).
    None when no such article is archived: no row, and nothing on disk or in the records."""
    # The archive layer may use Sina's URL rules (pure functions), never Scrapy's.
    from newsspider.sina.urls import NotSinaUrl, canonical_article_url, docid_from_url

    row = None
    if "://" in target:
        urls = [target]
        with contextlib.suppress(NotSinaUrl):
            urls.insert(0, canonical_article_url(target))
        for url in urls:
            row = index.find(url, docid_from_url(url))
            if row is not None:
                break
        if row is None:
            return None
        relative = row.path
    else:
        found = _as_post_path(root, target)
        if found is None:
            return None
        relative = found
        row = index.by_path(relative)
    versions = post_versions(
        root, index, relative, current_sha256=row.sha256 if row is not None else None
    )
    if row is None and not versions:
        return None
    return ArticleHistory(row.url if row is not None else None, relative, tuple(versions))


class NoSuchVersion(LookupError):
    """A version named by neither its number nor a SHA-256 prefix of one version."""


def pick_version(versions: tuple[Version, ...], ref: str) -> Version:
    """The version ``ref`` names: its number in the list (``1`` is the oldest), else a prefix
    (4 hex digits or more) of its SHA-256; of several versions with those bytes, the newest.
    Raises :class:`NoSuchVersion` with the reason."""
    ref = ref.strip().lower()
    if ref.isdigit() and 1 <= int(ref) <= len(versions):
        return versions[int(ref) - 1]
    if len(ref) < 4 or any(char not in "0123456789abcdef" for char in ref):
        raise NoSuchVersion(
            f"no version {ref!r}: give a number from 1 to {len(versions)} or a "
            "sha256 prefix of 4 hex digits or more"
        )
    matches = [version for version in versions if version.sha256.startswith(ref)]
    if not matches:
        raise NoSuchVersion(f"no version with a sha256 starting {ref!r}")
    if len({version.sha256 for version in matches}) > 1:
        numbers = ", ".join(str(version.number) for version in matches)
        raise NoSuchVersion(f"sha256 prefix {ref!r} is ambiguous: versions {numbers}")
    return matches[-1]


_NO_NEWLINE = "\\ No newline at end of file\n"
_LINES = re.compile(r"[^\n]*\n|[^\n]+")  # lines end at "\n" only, as in the post's bytes


def text_diff(old: bytes, new: bytes, old_label: str, new_label: str) -> str | None:
    """The unified diff of two versions' text (empty when equal), or None when either is not
    UTF-8 text (binary: no diff is made)."""
    try:
        old_text, new_text = old.decode("utf-8"), new.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = difflib.unified_diff(
        _LINES.findall(old_text),
        _LINES.findall(new_text),
        fromfile=old_label,
        tofile=new_label,
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else f"{line}\n{_NO_NEWLINE}")
    return "".join(out)
