"""Shared fixtures: golden cases, the mock Sina server and a `scrapy crawl` runner."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mocksina import MockSina

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "sina"
GOLDEN = DATA / "golden"
GOLDEN_DIRS = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
CHINA_DIR = Path("金融") / "新浪财经" / "新浪财经－国內"


@dataclass(frozen=True)
class Golden:
    """One golden pair: the page, its roll item and the post the archive holds."""

    slug: str
    page: str
    item: dict[str, Any]
    meta: dict[str, Any]
    expected: bytes

    @classmethod
    def load(cls, folder: Path) -> Golden:
        return cls(
            slug=folder.name,
            page=(folder / "page.html").read_text(encoding="utf-8"),
            item=json.loads((folder / "item.json").read_text(encoding="utf-8")),
            meta=json.loads((folder / "meta.json").read_text(encoding="utf-8")),
            expected=(folder / "expected.md").read_bytes(),
        )


GOLDENS = [Golden.load(p) for p in GOLDEN_DIRS]


@pytest.fixture
def mock_sina() -> Iterator[MockSina]:
    """The golden pages and their roll (155/1686), served on 127.0.0.1."""
    server = MockSina.from_golden(GOLDEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class CrawlResult:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    @property
    def stats(self) -> dict[str, Any]:
        assert self.report is not None, f"no run report; stderr:\n{self.stderr[-3000:]}"
        return dict(self.report["stats"])


def completed(result: Any) -> Any:
    """The value of an ``async def`` pipeline step run with no event loop (its worker pool
    then works in this process, so the coroutine never suspends); other values as they are."""
    if not inspect.iscoroutine(result):
        return result
    try:
        result.send(None)
    except StopIteration as done:
        return done.value
    result.close()
    raise AssertionError("the step waited for something; it cannot finish without a loop")


def crawl_command(mirror: str, archive: Path, *args: str, **settings: object) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", "sina_finance"]
    merged: dict[str, object] = {
        "SINA_MIRROR": mirror,
        "ARCHIVE_DIR": str(archive),
        "LOG_LEVEL": "INFO",
    }
    merged.update(settings)
    for name, value in merged.items():
        command += ["-s", f"{name}={value}"]
    return [*command, *args]


def run_crawl(
    mirror: str, archive: Path, *args: str, timeout: float = 120, **settings: object
) -> CrawlResult:
    """Run ``scrapy crawl sina_finance`` from the repo root, as a user would."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        crawl_command(mirror, archive, *args, **settings),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    reports = sorted((archive / ".newsspider" / "runs").glob("*.json"))
    report = json.loads(reports[-1].read_text(encoding="utf-8")) if reports else None
    return CrawlResult(proc.returncode, proc.stdout, proc.stderr, report)


def scrapy(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a scrapy command (``refresh``, ``archive_index``, ``channels`` …) from the repo root."""
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def audit(archive: Path) -> tuple[int, dict[str, Any]]:
    """``scrapy archive_index --json`` on ``archive``: its exit code and report."""
    result = scrapy("archive_index", "--json", "-s", f"ARCHIVE_DIR={archive}")
    return result.returncode, json.loads(result.stdout)


def posts_under(archive: Path) -> dict[str, bytes]:
    """Every post in the archive, by path relative to it (dot folders left out, as Hexo does)."""
    return {
        p.relative_to(archive).as_posix(): p.read_bytes()
        for p in sorted(archive.rglob("*.md"))
        if not any(part.startswith(".") for part in p.relative_to(archive).parts)
    }


def synthetic_article(index: int, golden: Golden | None = None) -> tuple[str, str, dict[str, Any]]:
    """A distinct article made from a golden page: (url, page HTML, roll item).

    Title, docid, URL and ``intime`` differ per ``index``; the body is the golden body.
    """
    golden = golden or GOLDENS[index % len(GOLDENS)]
    old_id = golden.meta["docid"].split(":")[1]
    new_id = f"{old_id[:7]}{index:07d}"
    title = f"合成文章{index:05d}：{golden.meta['title']}"
    url = golden.meta["url"].replace(old_id, new_id)
    page = golden.page.replace(golden.meta["title"], title).replace(old_id, new_id)
    intime = 1700000000 - index * 60
    item = {
        **golden.item,
        "title": title,
        "url": url,
        "docid": f"comos:{new_id}",
        "intime": str(intime),
        "ctime": str(intime - 30),
        "mtime": str(intime),
    }
    return url, page, item


def serve_synthetic(server: MockSina, count: int, pageid: int = 155, lid: int = 1686) -> list[str]:
    """Serve ``count`` synthetic articles and their roll; returns their URLs, newest first."""
    items = []
    for index in range(count):
        url, page, item = synthetic_article(index)
        server.add_page(url, page)
        items.append(item)
    server.set_roll(pageid, lid, items)
    return [item["url"] for item in items]
