"""Git repositories built in a test with dulwich, as the older pipeline's site repositories
were: each commit holds the whole tree of posts of that run (``files``), so a post missing from
a commit was deleted by that run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

AUTHOR = b"rsshub bot <bot@example.com>"


def _tree(repo: Repo, files: Mapping[str, bytes]) -> bytes:
    """Write the tree of ``files`` (POSIX path: bytes) and return its id."""
    children: dict[str, dict[str, bytes]] = {}
    tree = Tree()
    for path, data in files.items():
        head, _, rest = path.partition("/")
        if rest:
            children.setdefault(head, {})[rest] = data
        else:
            blob = Blob.from_string(data)
            repo.object_store.add_object(blob)
            tree.add(head.encode(), 0o100644, blob.id)
    for name, sub in children.items():
        tree.add(name.encode(), 0o040000, _tree(repo, sub))
    repo.object_store.add_object(tree)
    return tree.id


class SiteRepo:
    """A repository at ``path`` with one branch, ``refs/heads/<branch>``."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.repo = Repo.init(str(path))
        self.path = path
        self.ref = f"refs/heads/{branch}".encode()
        self.commits: list[str] = []

    def commit(self, files: Mapping[str, bytes], when: int, message: str = "run") -> str:
        """Commit the whole tree ``files`` at unix time ``when``, after the branch's head."""
        commit = Commit()
        commit.tree = _tree(self.repo, files)
        commit.author = commit.committer = AUTHOR
        commit.author_time = commit.commit_time = when
        commit.author_timezone = commit.commit_timezone = 8 * 3600
        commit.encoding = b"UTF-8"
        commit.message = message.encode()
        try:
            commit.parents = [self.repo.refs[self.ref]]
        except KeyError:
            commit.parents = []
        self.repo.object_store.add_object(commit)
        self.repo.refs[self.ref] = commit.id
        if self.ref != b"refs/heads/master":
            self.repo.refs.set_symbolic_ref(b"HEAD", self.ref)
        self.commits.append(commit.id.decode())
        return commit.id.decode()
