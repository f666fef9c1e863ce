"""Load a crawled archive folder with a real Hexo 8 site and report what Hexo parsed.

The harness lives in ``tests/hexo`` (``package.json`` + ``package-lock.json`` pinning Hexo
and ``hexo-renderer-marked``); install it with ``npm ci --prefix tests/hexo``.

:func:`load_hexo_posts` builds a minimal Hexo site around a copy of the archive and runs
``tests/hexo/load_posts.js`` on it, which calls ``hexo.init()`` and ``hexo.load()`` with the
Hexo API, exactly what ``hexo generate`` does before it writes files. Everything not set in
:data:`SITE_CONFIG` is Hexo's default: in particular ``permalink: :year/:month/:day/:title/``
and ``timezone: ''`` (dates without an offset are read in the node process's local time).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEXO_DIR = Path(__file__).resolve().parent.parent / "hexo"
NODE_MODULES = HEXO_DIR / "node_modules"
LOAD_SCRIPT = HEXO_DIR / "load_posts.js"
INSTALL_HINT = "npm ci --prefix tests/hexo"

# The plugins the site loads; Hexo only loads packages named hexo-* that the site's
# package.json lists and that resolve from the site dir (here through NODE_PATH).
_SITE_PLUGINS = ("hexo", "hexo-renderer-marked")

SITE_CONFIG = """\
# Minimal site for loading posts; everything else is Hexo's default.
title: newsspider archive check
url: http://example.com
source_dir: source
default_category: uncategorized
"""

_LOAD_TIMEOUT_S = 300


@dataclass(frozen=True)
class HexoPost:
    """One post as Hexo stored it after ``hexo.load()``."""

    source: str  # path relative to the site's source dir: "_posts/<archive-relative path>"
    title: str
    date: datetime  # aware, UTC
    categories: list[str]  # root category first
    comments: bool
    content: str  # rendered HTML
    raw: str  # the whole file as Hexo read it


@dataclass(frozen=True)
class HexoLoad:
    """What one Hexo load of an archive produced."""

    posts: list[HexoPost]
    # .md files under source/_posts that Hexo did not load as posts, in the same
    # "_posts/..." form as HexoPost.source.
    missing: list[str]
    # What Hexo logged at error/fatal level, e.g. "Process failed: _posts/x.md: YAMLException: ...".
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


_IMG_SRC = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"')


def hexo_available() -> bool:
    """True when node is on PATH and the pinned Hexo harness is installed."""
    return shutil.which("node") is not None and all(
        (NODE_MODULES / name / "package.json").is_file() for name in _SITE_PLUGINS
    )


def load_hexo_posts(archive_dir: Path, work_dir: Path) -> HexoLoad:
    """Load every post of ``archive_dir`` the way a Hexo 8 site would.

    ``archive_dir`` is a folder of posts as they go under ``source/_posts/`` (e.g.
    ``金融/新浪财经/新浪财经－国內/<name>.md``). ``work_dir`` must be missing or empty; the
    site is built there and left for inspection. Raises :class:`RuntimeError` when the
    harness is not installed or the loader fails.
    """
    node = shutil.which("node")
    if node is None or not hexo_available():
        raise RuntimeError(
            f"the Hexo test harness is not installed: run `{INSTALL_HINT}` "
            f"(needs node >= 20.19 on PATH; looked for {NODE_MODULES}/hexo)"
        )
    if not archive_dir.is_dir():
        raise ValueError(f"archive_dir is not a directory: {archive_dir}")
    if work_dir.exists() and any(work_dir.iterdir()):
        raise ValueError(f"work_dir must be empty: {work_dir}")

    _build_site(archive_dir, work_dir)
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    proc = subprocess.run(
        [node, str(LOAD_SCRIPT), str(work_dir)],
        cwd=HEXO_DIR,
        env=env,
        capture_output=True,
        check=False,
        timeout=_LOAD_TIMEOUT_S,
    )
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        raise RuntimeError(f"{LOAD_SCRIPT.name} failed with exit code {proc.returncode}:\n{stderr}")
    return _parse_load(json.loads(proc.stdout))


def _build_site(archive_dir: Path, work_dir: Path) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "_config.yml").write_text(SITE_CONFIG, encoding="utf-8")
    (work_dir / "package.json").write_text(json.dumps(_site_package(), indent=2), encoding="utf-8")
    # A copy, not a symlink: Hexo would follow a symlink (its Box uses stat), but a copy keeps
    # the archive safe from anything the load might write.
    shutil.copytree(archive_dir, work_dir / "source" / "_posts")


def _site_package() -> dict[str, Any]:
    """package.json of a Hexo site: the "hexo" object is what makes Hexo read _config.yml
    and load plugins at all."""
    versions = {name: _installed_version(name) for name in _SITE_PLUGINS}
    return {
        "name": "newsspider-archive-check",
        "version": "0.0.0",
        "private": True,
        "hexo": {"version": versions["hexo"]},
        "dependencies": versions,
    }


def _installed_version(package: str) -> str:
    manifest = json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))
    version: str = manifest["version"]
    return version


def _parse_load(doc: dict[str, Any]) -> HexoLoad:
    posts = [
        HexoPost(
            source=post["source"],
            title=post["title"],
            date=datetime.fromisoformat(post["date"]).astimezone(UTC),
            categories=list(post["categories"]),
            comments=post["comments"],
            content=post["content"],
            raw=post["raw"],
        )
        for post in doc["posts"]
    ]
    return HexoLoad(
        posts=posts,
        missing=list(doc["missing"]),
        errors=list(doc["errors"]),
        warnings=list(doc["warnings"]),
    )


GENERATE_SCRIPT = HEXO_DIR / "generate_site.js"
_PAGE_LAYOUT = "<!doctype html><html><body>{{ content }}</body></html>\n"


def generate_hexo_site(archive_dir: Path, images_dir: Path, work_dir: Path) -> Path:
    """``hexo generate`` of a site whose ``source/_posts`` is a copy of ``archive_dir`` and
    ``source/images`` a copy of ``images_dir``, with a theme whose pages are the posts'
    rendered content; returns the generated site (``work_dir/public``). ``work_dir`` must be
    missing or empty. Raises :class:`RuntimeError` when the harness is not installed or Hexo
    fails."""
    node = shutil.which("node")
    if node is None or not hexo_available():
        raise RuntimeError(f"the Hexo test harness is not installed: run `{INSTALL_HINT}`")
    if work_dir.exists() and any(work_dir.iterdir()):
        raise ValueError(f"work_dir must be empty: {work_dir}")
    _build_site(archive_dir, work_dir)
    shutil.copytree(images_dir, work_dir / "source" / "images")
    with (work_dir / "_config.yml").open("a", encoding="utf-8") as config:
        config.write("theme: plain\n")
    layout = work_dir / "themes" / "plain" / "layout"
    layout.mkdir(parents=True)
    for name in ("post", "page", "index", "archive", "category"):
        (layout / f"{name}.page").write_text(_PAGE_LAYOUT, encoding="utf-8")
    proc = subprocess.run(
        [node, str(GENERATE_SCRIPT), str(work_dir)],
        cwd=HEXO_DIR,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        check=False,
        timeout=_LOAD_TIMEOUT_S,
    )
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        raise RuntimeError(
            f"{GENERATE_SCRIPT.name} failed with exit code {proc.returncode}:\n{stderr}"
        )
    return work_dir / "public"


def post_pages(public: Path) -> list[Path]:
    """The pages of a generated site (:func:`generate_hexo_site`) below its home page."""
    return [page for page in public.rglob("index.html") if page.parent != public]


def picture_sources(pages: list[Path]) -> list[str]:
    """The ``<img src>`` of every one of ``pages``, unescaped, in page order."""
    return [
        html.unescape(src)
        for page in pages
        for src in _IMG_SRC.findall(page.read_text(encoding="utf-8"))
    ]
