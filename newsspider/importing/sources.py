"""Where legacy posts come from: a plain folder of posts, or every commit of a site's git
repository.

A source yields each distinct Sina Finance post it holds once (:class:`Found`: its path, its
channel, where to read it, the commit and time it came from), counts what it skips, and reads a
found post's bytes on demand (:meth:`Source.read`), so an import keeps references, not bytes.

The git source reads the repository with dulwich, read only: every commit reachable from the
branches (``refs/heads/*`` and ``refs/remotes/*``), newest first; each tree and blob once (the
same blob in many commits is one read, and a folder unchanged since a newer commit is not walked
again), so the work grows with what changed, and memory with the distinct posts, not with the
commits. A post's commit is the newest commit that holds it.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from dulwich.errors import NotGitRepository
from dulwich.objects import Blob, ObjectID, Tree
from dulwich.repo import Repo

from newsspider.importing.legacy import Selection, sina_channel

# Only these folders of a site hold posts: 2021-04 on, and the earliest commits.
_POST_ROOTS = (b"source", b"post")
_PROGRESS_SECONDS = 2.0

Progress = Callable[[int, int], None]
"""Called now and then with the commits read and the Sina posts found so far."""


class NotASource(Exception):
    """The path given is not what the import was told it is (no folder, no git repository)."""


@dataclass(frozen=True)
class Found:
    """One distinct Sina Finance post of a source: ``path`` in the source (POSIX), its
    ``channel`` (the folder name, ``新浪财经－国內``), ``ref`` (a blob id, or a file path) for
    :meth:`Source.read`, the ``commit`` it came from (None for a folder) and its ``time`` (the
    commit's, or the file's modification time)."""

    path: str
    channel: str
    ref: str
    commit: str | None
    time: datetime


class Source(Protocol):
    """A folder or a repository of legacy posts."""

    description: str
    """What the index and the log call it (the folder's or the repository's path)."""
    commits: int
    """Commits read so far (0 for a folder)."""
    other_feeds: int
    """Distinct ``.md`` files seen that are no Sina Finance post (other feeds), so far."""

    def scan(self, progress: Progress | None = None) -> Iterator[Found]: ...

    def read(self, found: Found) -> bytes:
        """The bytes of a found post; ``OSError`` (or ``KeyError`` for a missing blob) when it
        cannot be read."""
        ...

    def close(self) -> None:
        """Let go of what the source holds open (a repository's pack files)."""
        ...


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") for part in parts)


class FolderSource:
    """A plain folder of posts (a site, its ``source/_posts``, or an archive): every regular
    ``*.md`` file outside dot folders; the folder ``exclude`` (the archive being imported into,
    when it lies inside) is left out."""

    def __init__(
        self, root: Path, exclude: Path | None = None, select: Selection = sina_channel
    ) -> None:
        if not root.is_dir():
            raise NotASource(f"{root} is not a folder")
        self.root = root
        self.select = select
        self.description = str(root)
        self.exclude = exclude.resolve() if exclude is not None else None
        self.commits = 0
        self.other_feeds = 0

    def scan(self, progress: Progress | None = None) -> Iterator[Found]:
        found = 0
        for path in sorted(self.root.rglob("*.md")):
            relative = path.relative_to(self.root)
            if _hidden(relative.parts) or path.is_symlink() or not path.is_file():
                continue
            if self.exclude is not None and path.resolve().is_relative_to(self.exclude):
                continue
            channel = self.select(relative.as_posix())
            if channel is None:
                self.other_feeds += 1
                continue
            try:
                mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except OSError:
                mtime = datetime.now(UTC)
            found += 1
            yield Found(relative.as_posix(), channel, str(path), None, mtime)
        if progress is not None:
            progress(0, found)

    def read(self, found: Found) -> bytes:
        return Path(found.ref).read_bytes()

    def close(self) -> None:
        pass


class GitSource:
    """Every commit of a git repository reachable from its branches (see the module
    docstring). ``NotASource`` when ``root`` is no git repository."""

    def __init__(self, root: Path, select: Selection | None = None) -> None:
        try:
            self.repo = Repo(str(root))
        except (NotGitRepository, OSError) as exc:
            raise NotASource(
                f"{root} is not a git repository (--no-git imports a plain folder of posts)"
            ) from exc
        self.description = str(root)
        self.select: Selection = select or sina_channel
        # The folders the layouts put posts in; a selection of its own may take any.
        self.roots: tuple[bytes, ...] | None = _POST_ROOTS if select is None else None
        self.commits = 0
        self.other_feeds = 0

    def heads(self) -> list[ObjectID]:
        """The commits the branches point at (local and remote-tracking), each once."""
        refs = self.repo.get_refs()
        heads = [
            ObjectID(sha)
            for name, sha in sorted(refs.items())
            if name.startswith((b"refs/heads/", b"refs/remotes/")) and not name.endswith(b"/HEAD")
        ]
        return list(dict.fromkeys(heads))

    def scan(self, progress: Progress | None = None) -> Iterator[Found]:
        heads = self.heads()
        if not heads:
            return
        seen_blobs: set[bytes] = set()
        seen_trees: set[tuple[bytes, bytes]] = set()
        found = 0
        last = time.monotonic()
        for entry in self.repo.get_walker(include=heads):
            commit = entry.commit
            self.commits += 1
            moment = datetime.fromtimestamp(commit.commit_time, UTC)
            commit_id = commit.id.decode("ascii")
            for path, blob in self._new_blobs(commit.tree, seen_trees, seen_blobs):
                channel = self.select(path)
                if channel is None:
                    self.other_feeds += 1
                    continue
                found += 1
                yield Found(path, channel, blob.decode("ascii"), commit_id, moment)
            if progress is not None and time.monotonic() - last >= _PROGRESS_SECONDS:
                last = time.monotonic()
                progress(self.commits, found)
        if progress is not None:
            progress(self.commits, found)

    def _new_blobs(
        self,
        root_tree: ObjectID,
        seen_trees: set[tuple[bytes, bytes]],
        seen_blobs: set[bytes],
    ) -> Iterator[tuple[str, bytes]]:
        """``(path, blob id)`` of the ``*.md`` blobs under the post folders of a commit's tree
        not seen before; trees seen before at the same path are not walked again."""
        store = self.repo.object_store
        root = store[root_tree]
        assert isinstance(root, Tree)
        stack: list[tuple[bytes, ObjectID]] = [
            (name, ObjectID(sha))
            for name, mode, sha in root.iteritems()
            if (self.roots is None or name in self.roots) and stat.S_ISDIR(mode)
        ]
        while stack:
            prefix, tree_id = stack.pop()
            if (prefix, tree_id) in seen_trees:
                continue
            seen_trees.add((prefix, tree_id))
            try:
                tree = store[tree_id]
            except KeyError:
                continue  # a shallow or damaged repository: what is there is read
            if not isinstance(tree, Tree):
                continue
            for name, mode, sha in tree.iteritems():
                path = prefix + b"/" + name
                if stat.S_ISDIR(mode):
                    stack.append((path, ObjectID(sha)))
                elif stat.S_ISREG(mode) and name.endswith(b".md") and sha not in seen_blobs:
                    seen_blobs.add(sha)
                    yield path.decode("utf-8", "replace"), sha

    def read(self, found: Found) -> bytes:
        blob = self.repo.object_store[ObjectID(found.ref.encode("ascii"))]
        if not isinstance(blob, Blob):
            raise KeyError(f"{found.ref} is not a blob")
        return bytes(blob.as_raw_string())

    def close(self) -> None:
        self.repo.close()
