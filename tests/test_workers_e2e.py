"""``scrapy crawl`` with worker processes: the same archive as without them (and as with workers
that cannot start), and a worker killed mid-crawl costs a counted failure of the articles it
held, never a partial post or a crash."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from utils.archive import posts_under
from utils.content import GOLDENS
from utils.crawl import REPO, audit, crawl_command, run_crawl
from utils.mocksina import MockSina, serve_synthetic

pytestmark = pytest.mark.e2e


def test_workers_or_not_the_archive_is_the_same(mock_sina, tmp_path):
    archives = {}
    for workers in ("0", "2"):
        archive = tmp_path / f"workers-{workers}"
        result = run_crawl(mock_sina.base_url, archive, WORKER_PROCESSES=workers)
        assert result.returncode == 0, result.stderr[-3000:]
        if workers == "0":
            assert "workers/tasks" not in result.stats
        else:
            assert result.stats["workers/started"] >= 1
            # one trip to make each article's post, one to write it
            assert result.stats["workers/tasks"] == 2 * len(GOLDENS)
        archives[workers] = posts_under(archive)
    assert len(archives["0"]) == len(GOLDENS)
    assert archives["0"] == archives["2"]

    # Workers that cannot start: the crawl says so once and does their work itself.
    archive = tmp_path / "unstartable"
    stderr, stats = crawl_with_unstartable_workers(mock_sina.base_url, archive)
    assert stderr.count("Worker processes cannot be started") == 1, stderr[-3000:]
    assert stats["workers/in_process"] == 2 * len(GOLDENS)
    assert "sina/failed/worker_crashed" not in stats
    assert posts_under(archive) == archives["0"]


def crawl_with_unstartable_workers(mirror: str, archive: Path) -> tuple[str, dict[str, object]]:
    """``scrapy crawl`` with two workers whose interpreter exits at once: its stderr and stats."""
    broken = (
        "import sys; sys.executable = '/bin/false'; from scrapy.cmdline import execute; execute()"
    )
    command = crawl_command(mirror, archive, WORKER_PROCESSES=2)
    assert command[1:3] == ["-m", "scrapy"]
    proc = subprocess.run(
        [sys.executable, "-c", broken, *command[3:]],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (report,) = (archive / ".newsspider" / "runs").glob("*.json")
    return proc.stderr, dict(json.loads(report.read_text(encoding="utf-8"))["stats"])


def worker_pids(parent: int) -> list[int]:
    """The crawl's worker processes (children of ``parent`` running newsspider.workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"newsspider.workers" in command:
            found.append(int(entry.name))
    return found


def test_a_killed_worker_fails_its_articles_and_the_next_run_completes_the_archive(tmp_path):
    with MockSina() as server:
        serve_synthetic(server, 120)
        archive = tmp_path / "archive"
        log = tmp_path / "crawl.log"
        with open(log, "w", encoding="utf-8") as stderr:
            proc = subprocess.Popen(
                crawl_command(
                    server.base_url,
                    archive,
                    "-a",
                    "pages=3",
                    "-a",
                    "num=40",
                    WORKER_PROCESSES=1,
                    DOWNLOAD_DELAY=0.01,  # a crawl of a few seconds: time to find the worker
                    RUN_MAX_ERRORS=1000000,  # the failures are the point: no error threshold
                    RUN_MAX_ERROR_RATIO=1,
                ),
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            killed: list[int] = []
            deadline = time.monotonic() + 60
            while not killed and time.monotonic() < deadline and proc.poll() is None:
                if len(list(archive.rglob("*.md"))) >= 10:
                    killed = worker_pids(proc.pid)
                    for pid in killed:  # stopped first, so that it surely holds some tasks
                        os.kill(pid, signal.SIGSTOP)
                    time.sleep(0.3)
                    for pid in killed:
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.005)
            assert killed, "no worker to kill"
            assert proc.wait(timeout=120) == 0
        text = log.read_text(encoding="utf-8")
        assert "Traceback" not in text
        assert f"worker process {killed[0]} exited with status -9" in text
        assert "'workers/crashed': 1" in text
        assert "'sina/failed/worker_crashed'" in text
        posts = posts_under(archive)
        assert 10 <= len(posts) < 120
        assert all(data.endswith(b"\n</div>\n") for data in posts.values())
        code, report = audit(archive)
        assert code == 0, report

        again = run_crawl(server.base_url, archive, "-a", "pages=3", "-a", "num=40")
        assert again.returncode == 0, again.stderr[-3000:]
        assert again.stats["archive/new"] == 120 - len(posts)
        reference = tmp_path / "reference"
        assert (
            run_crawl(server.base_url, reference, "-a", "pages=3", "-a", "num=40").returncode == 0
        )
    assert posts_under(archive) == posts_under(reference)
