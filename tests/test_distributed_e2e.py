"""End to end: three scrapy-redis workers and one writer against a real redis-server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO, audit, crawl_command, posts_under, run_crawl, synthetic_article
from mocksina import MockSina
from redis_support import RedisServer

pytestmark = pytest.mark.e2e

CHANNELS = "china,macro,us_stocks"
ARGS = ("-a", f"channels={CHANNELS}", "-a", "pages=5", "-a", "num=40")


@pytest.fixture
def redis_server(tmp_path):
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def mirror():
    """Three channels, 260 articles, 40 of them listed by two channels."""
    with MockSina() as server:
        rolls = {
            (155, 1686): range(0, 110),
            (155, 1687): range(90, 200),
            (384, 2672): range(180, 260),
        }
        urls = set()
        for (pageid, lid), indexes in rolls.items():
            items = []
            for index in indexes:
                url, page, item = synthetic_article(index)
                server.add_page(url, page)
                items.append(item)
                urls.add(url)
            server.set_roll(pageid, lid, items)
        server.article_urls = sorted(urls)
        yield server


def popen(command, log: Path):
    handle = log.open("w")
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    proc.log_path = log
    handle.close()
    return proc


def distributed_run(
    mirror, redis_url, archive: Path, logs: Path, workers=3, kill_after=None, command=None
):
    """Start the writer, then the workers; wait for all. ``kill_after=(n, posts)`` kills worker
    ``n`` with SIGKILL once ``posts`` posts exist."""
    logs.mkdir(parents=True, exist_ok=True)
    common = {"NEWSSPIDER_DISTRIBUTED": 1, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO"}
    writer = popen(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "sina_writer",
            "-s",
            f"ARCHIVE_DIR={archive}",
            "-s",
            "ARCHIVE_BODY=verbatim",
            *[f"-s{k}={v}" for k, v in common.items()],
        ],
        logs / "writer.log",
    )
    procs = [
        popen(
            (command or default_worker)(mirror.base_url, logs / f"worker{n}", common),
            logs / f"worker{n}.log",
        )
        for n in range(workers)
    ]
    if kill_after is not None:
        victim, posts = kill_after
        deadline = time.monotonic() + 60
        while len(list(archive.rglob("*.md"))) < posts and time.monotonic() < deadline:
            time.sleep(0.01)
        procs[victim].send_signal(signal.SIGKILL)
    for proc in [*procs, writer]:
        proc.wait(timeout=240)
    return writer, procs


def default_worker(mirror_url, folder, common):
    # Paced (about 20 articles/s a worker) so that the crawl outlasts the other workers'
    # start-up: otherwise the first worker can finish everything before they join.
    return crawl_command(
        mirror_url, folder, *ARGS, CONCURRENT_REQUESTS=2, DOWNLOAD_DELAY=0.05, **common
    )


def refresh_worker(mirror_url, folder, common):
    settings = {"SINA_MIRROR": mirror_url, "ARCHIVE_DIR": folder, **common}
    return [
        sys.executable,
        "-m",
        "scrapy",
        "refresh",
        "--all",
        *[f"-s{k}={v}" for k, v in settings.items()],
    ]


def assert_all_succeeded(*procs):
    """Every process exited 0; otherwise the end of the first failed one's log."""
    for proc in procs:
        assert proc.returncode == 0, f"{proc.log_path}:\n{proc.log_path.read_text()[-3000:]}"


def worker_stats(logs: Path, n: int):
    reports = sorted((logs / f"worker{n}" / ".newsspider" / "runs").glob("*.json"))
    return json.loads(reports[-1].read_text())["stats"] if reports else {}


def roll_requests(server):
    return Counter(r for r in server.requests if "/api/roll/get" in r)


def test_three_workers_fetch_each_article_once_and_write_what_one_process_writes(
    mirror, redis_server, tmp_path
):
    archive = tmp_path / "archive"
    writer, workers = distributed_run(mirror, redis_server.url, archive, tmp_path / "logs")
    for proc in [writer, *workers]:
        log = proc.log_path.read_text()
        assert proc.returncode == 0, log[-3000:]
        assert "Traceback" not in log
        assert "DeprecationWarning" not in log  # scrapy-redis fitted to the pinned Scrapy
    assert [mirror.count(url) for url in mirror.article_urls] == [1] * 260
    assert set(roll_requests(mirror).values()) == {1}  # each roll page once, across workers
    fetched = [
        worker_stats(tmp_path / "logs", n).get("distributed/items_pushed", 0) for n in range(3)
    ]
    assert sum(fetched) == 260
    assert sum(1 for n in fetched if n) >= 2, f"the work was not shared: {fetched}"

    reference = tmp_path / "reference"
    single = run_crawl(mirror.base_url, reference, *ARGS, ARCHIVE_BODY="verbatim")
    assert single.returncode == 0
    assert len(posts_under(reference)) == 260
    assert posts_under(archive) == posts_under(reference)
    code, report = audit(archive)
    assert code == 0, report
    assert report["indexed"] == 260

    # A second distributed run knows everything: no article requests at all.
    mirror.requests.clear()
    writer, workers = distributed_run(mirror, redis_server.url, archive, tmp_path / "logs2")
    assert_all_succeeded(writer, *workers)
    assert [mirror.count(url) for url in mirror.article_urls] == [0] * 260
    assert roll_requests(mirror)  # the roll is still read
    assert posts_under(archive) == posts_under(reference)
    client = redis_server.client()
    assert not client.exists("newsspider:run", "newsspider:requests", "newsspider:dupefilter")

    # A distributed refresh checks every archived article once, across two workers.
    mirror.requests.clear()
    writer, workers = distributed_run(
        mirror, redis_server.url, archive, tmp_path / "logs3", workers=2, command=refresh_worker
    )
    assert_all_succeeded(writer, *workers)
    assert [mirror.count(url) for url in mirror.article_urls] == [1] * 260
    assert not roll_requests(mirror)
    assert "new 0, updated 0, unchanged 260, gone 0" in writer.log_path.read_text()
    assert posts_under(archive) == posts_under(reference)


def test_a_killed_worker_is_made_good_by_the_next_run(mirror, redis_server, tmp_path):
    archive = tmp_path / "archive"
    writer, workers = distributed_run(
        mirror, redis_server.url, archive, tmp_path / "logs", kill_after=(0, 40)
    )
    assert workers[0].returncode == -signal.SIGKILL
    assert writer.returncode == 0, writer.log_path.read_text()[-3000:]
    writer, workers = distributed_run(mirror, redis_server.url, archive, tmp_path / "logs2")
    assert_all_succeeded(writer, *workers)
    # Only what the killed worker held was fetched again.
    fetches = [mirror.count(url) for url in mirror.article_urls]
    assert max(fetches) <= 2
    assert sum(fetches) < 260 + 40
    reference = tmp_path / "reference"
    assert run_crawl(mirror.base_url, reference, *ARGS, ARCHIVE_BODY="verbatim").returncode == 0
    assert posts_under(archive) == posts_under(reference)
    assert not list(archive.rglob(".newsspider-*.tmp"))
    code, report = audit(archive)
    assert code == 0, report
    assert report["indexed"] == 260


def test_a_run_whose_workers_were_all_killed_is_taken_over(mirror, redis_server, tmp_path):
    # What workers killed a moment ago leave: a run, a member silent for 30 s, stale requests.
    client = redis_server.client()
    client.set("newsspider:run", "deadrun", ex=600)
    client.hset("newsspider:run:deadrun:members", "ghost:1:abc", f"busy {time.time() - 30:.3f}")
    client.zadd("newsspider:requests", {"garbage": 0})
    client.sadd("newsspider:dupefilter", "stale-fingerprint")
    archive = tmp_path / "archive"
    writer, workers = distributed_run(mirror, redis_server.url, archive, tmp_path / "logs")
    assert_all_succeeded(writer, *workers)
    logs = "".join(p.log_path.read_text() for p in workers)
    assert logs.count("has no live worker left; starting a new one") == 1
    assert logs.count("Starting the distributed run") == 1
    assert len(posts_under(archive)) == 260
    assert [mirror.count(url) for url in mirror.article_urls] == [1] * 260


def test_workers_without_a_writer_stop_with_a_clear_message(redis_server, tmp_path):
    result = run_crawl(
        "http://127.0.0.1:9",
        tmp_path / "w",
        NEWSSPIDER_DISTRIBUTED=1,
        REDIS_URL=redis_server.url,
        NEWSSPIDER_WRITER_WAIT=1,
    )
    assert result.returncode == 1
    assert "No archive writer is running" in result.stderr


def test_distributed_mode_needs_redis_url(tmp_path):
    result = run_crawl("http://127.0.0.1:9", tmp_path / "w", NEWSSPIDER_DISTRIBUTED=1)
    assert result.returncode == 2
    assert "NEWSSPIDER_DISTRIBUTED needs REDIS_URL" in result.stderr


def test_nothing_about_redis_is_imported_by_default(mock_sina, tmp_path):
    script = (
        "import sys, atexit\n"
        "atexit.register(lambda: print('REDIS', sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('redis', 'scrapy_redis'))))\n"
        "from scrapy.cmdline import execute\n"
        f"execute(['scrapy', 'crawl', 'sina_finance', '-s', 'SINA_MIRROR={mock_sina.base_url}',"
        f" '-s', 'ARCHIVE_DIR={tmp_path / 'a'}'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "REDIS []" in result.stdout
    assert len(posts_under(tmp_path / "a")) == 8
