"""``scrapy`` commands run as subprocesses from the repo root, as a user runs them.

Only tests marked ``e2e`` may start one: ``tests/conftest.py`` switches
:data:`SUBPROCESSES_ALLOWED` off for every other test, so ``pytest -m "not e2e"`` stays
in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SUBPROCESSES_ALLOWED = True


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


def scrapy_argv(*args: str, launcher: str | None = None) -> list[str]:
    """The command line of ``scrapy ARGS``; with ``launcher``, that Python code runs scrapy
    instead of ``-m scrapy``. Refused outside e2e tests (see the module docstring)."""
    if not SUBPROCESSES_ALLOWED:
        raise AssertionError("a test that starts a scrapy subprocess must be marked e2e")
    start = ["-c", launcher] if launcher is not None else ["-m", "scrapy"]
    return [sys.executable, *start, *args]


def repo_env() -> dict[str, str]:
    """The environment of a subprocess that imports this checkout's ``newsspider`` (and
    ``tests.faults``)."""
    return {**os.environ, "PYTHONPATH": str(REPO)}


def crawl_command(
    mirror: str, archive: Path, *args: str, spider: str = "sina_finance", **settings: object
) -> list[str]:
    """``scrapy crawl <spider>`` against ``mirror`` into ``archive``; ``settings`` are
    given with ``-s`` after the defaults (``LOG_LEVEL=INFO``)."""
    merged: dict[str, object] = {
        "SINA_MIRROR": mirror,
        "ARCHIVE_DIR": str(archive),
        "LOG_LEVEL": "INFO",
    }
    merged.update(settings)
    options = [part for name, value in merged.items() for part in ("-s", f"{name}={value}")]
    return [*scrapy_argv("crawl", spider, *options), *args]


def latest_report(archive: Path) -> dict[str, Any] | None:
    """The newest run report in ``archive`` (None before any run wrote one)."""
    reports = sorted((archive / ".newsspider" / "runs").glob("*.json"))
    return json.loads(reports[-1].read_text(encoding="utf-8")) if reports else None


def run_crawl(
    mirror: str,
    archive: Path,
    *args: str,
    timeout: float = 120,
    spider: str = "sina_finance",
    **settings: object,
) -> CrawlResult:
    """Run ``scrapy crawl <spider>`` from the repo root, as a user would; its newest run
    report is read back."""
    proc = subprocess.run(
        crawl_command(mirror, archive, *args, spider=spider, **settings),
        cwd=REPO,
        env=repo_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CrawlResult(proc.returncode, proc.stdout, proc.stderr, latest_report(archive))


def writer_with_one_worker(
    mirror: str, archive: Path, worker_dir: Path, *args: str, **settings: object
) -> tuple[CrawlResult, int, str]:
    """A distributed run: ``sina_writer`` into ``archive`` and one ``sina_finance`` worker
    (with ``args``, its own archive folder ``worker_dir``), both with ``settings`` (Redis
    included). Returns the worker's result, the writer's exit code and its log."""
    writer = subprocess.Popen(
        crawl_command(mirror, archive, spider="sina_writer", **settings),
        cwd=REPO,
        env=repo_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker = run_crawl(mirror, worker_dir, *args, **settings)
    _, log = writer.communicate(timeout=180)
    return worker, writer.returncode, log


def scrapy(
    *args: str, timeout: float = 120, launcher: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a scrapy command (``refresh``, ``archive_index``, ``channels`` …) from the repo root."""
    return subprocess.run(
        scrapy_argv(*args, launcher=launcher),
        cwd=REPO,
        env=repo_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def refresh_all(mirror: str, archive: Path, **settings: object) -> subprocess.CompletedProcess[str]:
    """``scrapy refresh --all`` of ``archive`` against ``mirror``, with ``settings`` (``-s``)."""
    merged: dict[str, object] = {"SINA_MIRROR": mirror, "ARCHIVE_DIR": str(archive), **settings}
    options = [part for name, value in merged.items() for part in ("-s", f"{name}={value}")]
    return scrapy("refresh", "--all", *options)


def scrapy_as_installed(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A scrapy command as the ``scrapy`` script runs it (its messages say ``scrapy:``)."""
    launcher = "import sys; from scrapy.cmdline import execute; sys.argv[0] = 'scrapy'; execute()"
    return scrapy(*args, timeout=timeout, launcher=launcher)


def audit(archive: Path) -> tuple[int, dict[str, Any]]:
    """``scrapy archive_index --json`` on ``archive``: its exit code and report."""
    result = scrapy("archive_index", "--json", "-s", f"ARCHIVE_DIR={archive}")
    return result.returncode, json.loads(result.stdout)
