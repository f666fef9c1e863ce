"""Repair an index that breaks "one article, one post, one file".

Earlier versions could index one article twice (the same docid under two URLs, or a URL with a
query beside the same URL without it) and give one post path to two articles, the later post
overwriting the earlier. :func:`repair_index` runs when the archive is opened, before anything
is written:

* URLs are made canonical (https, no query, no fragment); a row whose canonical URL another row
  holds is the same article twice;
* one article held by several rows keeps the earliest row and its post; the other rows go, and
  their posts (other files of the same article) are kept as history of the one post and removed;
* a post path several articles point at stays with the article whose bytes it holds; each other
  article gets its post back from history under a name of its own, or, when history does not
  have it, loses its row, so that the next run that lists it archives it again.

Every change is one line of the returned report.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path, PurePosixPath

from newsspider.archive.files import write_atomic
from newsspider.archive.history import find_version, keep_version
from newsspider.archive.index import ArchiveIndex, IndexRow
from newsspider.archive.naming import docid_token, post_filename
from newsspider.sina.urls import NotSinaUrl, canonical_article_url

_MAX_ATTEMPTS = 1000


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def _keeper(rows: list[IndexRow]) -> IndexRow:
    return min(rows, key=lambda row: (row.first_archived, row.url))


def _merge(index: ArchiveIndex, root: Path, rows: list[IndexRow], *, fsync: bool) -> list[str]:
    """One article held by several rows: keep the earliest, fold the others into it."""
    keep = _keeper(rows)
    report = []
    for row in rows:
        if row is keep:
            continue
        if row.path != keep.path:
            path = root / row.path
            data = _read(path)
            if data is not None:
                keep_version(root, keep.path, data, fsync=fsync)
                path.unlink()
                report.append(
                    f"{row.path}: a second post of the article at {keep.path}; kept as its history"
                )
        index.delete(row.url)
        report.append(f"{row.url}: the same article as {keep.url}; one index row kept")
    return report


def _free_path(index: ArchiveIndex, root: Path, row: IndexRow) -> str:
    folder = PurePosixPath(row.path).parent
    token = docid_token(row.docid, row.url)
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        tag = token if attempt == 1 else f"{token}-{attempt}"
        candidate = (folder / post_filename(row.title, tag)).as_posix()
        if index.by_path(candidate) is None and not (root / candidate).exists():
            return candidate
    raise RuntimeError(f"no free post name for {row.url}")


def _split(index: ArchiveIndex, root: Path, rows: list[IndexRow], *, fsync: bool) -> list[str]:
    """Several articles at one path: the post stays with the one whose bytes it holds."""
    path = rows[0].path
    on_disk = _sha(_read(root / path))
    owner = next((row for row in rows if row.sha256 == on_disk), None)
    if owner is None:
        owner = max(rows, key=lambda row: (row.last_checked, row.url))
    report = []
    for row in rows:
        if row is owner:
            continue
        data = find_version(root, path, row.sha256)
        if data is None:
            index.delete(row.url)
            report.append(
                f"{row.url}: its post at {path} was overwritten by {owner.url} and no copy is "
                "left; unindexed, so the next run that lists it archives it again"
            )
            continue
        new_path = _free_path(index, root, row)
        write_atomic(root / new_path, data, fsync=fsync)
        index.put(replace(row, path=new_path))
        report.append(f"{row.url}: its post, overwritten at {path}, restored to {new_path}")
    return report


def repair_index(index: ArchiveIndex, root: Path, *, fsync: bool = True) -> list[str]:
    """Repair ``index`` (see the module docstring); returns one line per change, none when the
    index was sound. Commits before returning."""
    report: list[str] = []
    for row in index.uncanonical():
        try:
            canonical = canonical_article_url(row.url)
        except NotSinaUrl:
            continue
        if canonical == row.url:
            continue
        other = index.get(canonical)
        if other is None:
            index.rename(row.url, canonical)
            report.append(f"{row.url}: indexed as {canonical}")
        else:
            report.extend(_merge(index, root, [other, row], fsync=fsync))
    for rows in index.shared_docids().values():
        report.extend(_merge(index, root, rows, fsync=fsync))
    for rows in index.shared_paths().values():
        report.extend(_split(index, root, rows, fsync=fsync))
    index.commit()
    return report
