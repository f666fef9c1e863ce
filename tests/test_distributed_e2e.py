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

from utils.archive import posts_under
from utils.content import ROLL_PATHS, synthetic_article
from utils.crawl import REPO, audit, crawl_command, latest_report, run_crawl, scrapy
from utils.mocksina import MockSina, serve_synthetic
from utils.redis_server import RedisServer, free_port

pytestmark = pytest.mark.e2e

CHANNELS = "china,macro,us_stocks"
ARGS = ("-a", f"channels={CHANNELS}", "-a", "pages=5", "-a", "num=40")
SLOW_ARTICLES = 150
SLOW_ARGS = ("-a", "channels=china", "-a", "pages=4", "-a", "num=40")


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
            items = [server.add_article(synthetic_article(index)) for index in indexes]
            urls.update(item["url"] for item in items)
            server.set_roll(pageid, lid, items)
        server.article_urls = sorted(urls)
        yield server


class SlowSina(MockSina):
    """Article pages answered after a pause, so that a worker killed mid-run holds some."""

    delay = 0.2

    def _answer(self, target, req_headers):
        if target.partition("?")[0] not in ROLL_PATHS:
            time.sleep(self.delay)
        return super()._answer(target, req_headers)


@pytest.fixture
def slow_mirror():
    """One channel, 150 articles on four roll pages of 40, each page answered in 0.2 s."""
    with SlowSina() as server:
        server.article_urls = serve_synthetic(server, SLOW_ARTICLES)
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


def start_writer(redis_url, archive: Path, logs: Path):
    logs.mkdir(parents=True, exist_ok=True)
    common = {"DISTRIBUTED_ENABLED": 1, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO"}
    return popen(
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


def distributed_run(
    mirror, redis_url, archive: Path, logs: Path, workers=3, kill=None, command=None, writer=None
):
    """Start the writer (unless one is given), then the workers; wait for all. ``kill(workers)``
    is called once they are started (to kill some of them)."""
    common = {"DISTRIBUTED_ENABLED": 1, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO"}
    writer = writer or start_writer(redis_url, archive, logs)
    procs = [
        popen(
            (command or default_worker)(mirror.base_url, logs / f"worker{n}", common),
            logs / f"worker{n}.log",
        )
        for n in range(workers)
    ]
    if kill is not None:
        kill(procs)
    for proc in [*procs, writer]:
        proc.wait(timeout=240)
    return writer, procs


def held_by(client, proc) -> int:
    """How many requests worker ``proc`` holds: taken from the shared queue, not yet done."""
    pattern = f"newsspider:run:*:inflight:*:{proc.pid}:*"
    return sum(client.hlen(key) for key in client.scan_iter(match=pattern))


def killer(client, archive: Path, victims, posts=20, sig=signal.SIGKILL):
    """``kill`` for :func:`distributed_run`: once ``posts`` posts exist and the first victim
    holds requests, send ``sig`` to the ``victims`` (worker numbers)."""

    def kill(procs):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
            len(list(archive.rglob("*.md"))) >= posts and held_by(client, procs[victims[0]])
        ):
            time.sleep(0.02)
        for victim in victims:
            procs[victim].send_signal(sig)

    return kill


def default_worker(mirror_url, folder, common):
    # Paced (about 20 articles/s a worker) so that the crawl outlasts the other workers'
    # start-up: otherwise the first worker can finish everything before they join.
    return crawl_command(
        mirror_url, folder, *ARGS, CONCURRENT_REQUESTS=2, DOWNLOAD_DELAY=0.05, **common
    )


def slow_worker(mirror_url, folder, common):
    return crawl_command(mirror_url, folder, *SLOW_ARGS, CONCURRENT_REQUESTS=2, **common)


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


def test_the_requests_a_killed_worker_held_are_done_by_the_others(
    slow_mirror, redis_server, tmp_path
):
    archive, logs = tmp_path / "archive", tmp_path / "logs"
    writer, workers = distributed_run(
        slow_mirror,
        redis_server.url,
        archive,
        logs,
        command=slow_worker,
        kill=killer(redis_server.client(), archive, [0]),
    )
    assert workers[0].returncode == -signal.SIGKILL
    assert_all_succeeded(writer, *workers[1:])
    survivors = "".join(p.log_path.read_text() for p in workers[1:])
    assert survivors.count("request(s) it held back in the shared queue") == 1, survivors[-3000:]
    assert sum(worker_stats(logs, n).get("distributed/requeued", 0) for n in (1, 2)) >= 1
    assert sum(worker_stats(logs, n).get("distributed/workers_lost", 0) for n in (1, 2)) == 1
    # Only what the killed worker held was fetched twice.
    assert max(slow_mirror.count(url) for url in slow_mirror.article_urls) <= 2
    reference = tmp_path / "reference"
    single = run_crawl(slow_mirror.base_url, reference, *SLOW_ARGS, ARCHIVE_BODY="verbatim")
    assert single.returncode == 0
    assert len(posts_under(reference)) == SLOW_ARTICLES
    assert posts_under(archive) == posts_under(reference)
    assert not list(archive.rglob(".newsspider-*.tmp"))
    code, report = audit(archive)
    assert code == 0, report
    assert report["indexed"] == SLOW_ARTICLES


def test_a_run_that_lost_every_worker_fails_and_the_next_run_makes_it_good(
    slow_mirror, redis_server, tmp_path
):
    archive = tmp_path / "archive"
    writer, workers = distributed_run(
        slow_mirror,
        redis_server.url,
        archive,
        tmp_path / "logs",
        workers=1,
        command=slow_worker,
        kill=killer(redis_server.client(), archive, [0]),
    )
    assert workers[0].returncode == -signal.SIGKILL
    log = writer.log_path.read_text()
    assert writer.returncode == 1, log[-3000:]
    assert "request(s) not done (no worker was left to finish them)" in log
    assert latest_report(archive)["stats"]["distributed/not_done"] > 0
    assert len(posts_under(archive)) < SLOW_ARTICLES
    writer, workers = distributed_run(
        slow_mirror, redis_server.url, archive, tmp_path / "logs2", workers=2, command=slow_worker
    )
    assert_all_succeeded(writer, *workers)
    assert max(slow_mirror.count(url) for url in slow_mirror.article_urls) <= 2
    assert len(posts_under(archive)) == SLOW_ARTICLES
    code, report = audit(archive)
    assert code == 0, report
    assert report["indexed"] == SLOW_ARTICLES


def test_a_last_worker_stopped_early_says_how_many_requests_were_not_done(
    slow_mirror, redis_server, tmp_path
):
    archive = tmp_path / "archive"
    writer, workers = distributed_run(
        slow_mirror,
        redis_server.url,
        archive,
        tmp_path / "logs",
        workers=1,
        command=slow_worker,
        kill=killer(redis_server.client(), archive, [0], sig=signal.SIGTERM),
    )
    log = workers[0].log_path.read_text()
    assert workers[0].returncode == 143, log[-3000:]  # stopped by SIGTERM: interrupted
    assert "request(s) not done" in log
    assert writer.returncode == 1
    assert "request(s) not done (its last worker counted them)" in writer.log_path.read_text()
    assert not redis_server.client().exists("newsspider:run", "newsspider:requests")


def test_a_writer_on_another_archive_replaces_what_the_previous_one_published(
    slow_mirror, redis_server, tmp_path
):
    slow_mirror.delay = 0
    for archive in (tmp_path / "first", tmp_path / "second"):
        writer, workers = distributed_run(
            slow_mirror,
            redis_server.url,
            archive,
            tmp_path / f"logs-{archive.name}",
            workers=1,
            command=slow_worker,
        )
        assert_all_succeeded(writer, *workers)
        assert len(posts_under(archive)) == SLOW_ARTICLES
        code, report = audit(archive)
        assert code == 0, report
    assert redis_server.client().hlen("newsspider:archived") == SLOW_ARTICLES


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


def test_a_run_left_by_killed_workers_is_not_the_one_the_writer_waits_for(
    slow_mirror, redis_server, tmp_path
):
    slow_mirror.delay = 0
    client = redis_server.client()
    client.set("newsspider:run", "deadrun", ex=600)
    client.hset("newsspider:run:deadrun:members", "ghost:1:abc", f"busy {time.time() - 30:.3f}")
    archive, logs = tmp_path / "archive", tmp_path / "logs"
    writer = start_writer(redis_server.url, archive, logs)
    while not client.exists("newsspider:writer") and writer.poll() is None:
        time.sleep(0.05)
    # What the next worker does to take the dead run over, a moment before it starts its own.
    client.delete("newsspider:run")
    for _ in range(40):  # give the writer time to look (it did stop here, taking it for its run)
        if writer.poll() is not None:
            break
        time.sleep(0.05)
    writer, workers = distributed_run(
        slow_mirror, redis_server.url, archive, logs, workers=1, command=slow_worker, writer=writer
    )
    assert_all_succeeded(writer, *workers)
    assert len(posts_under(archive)) == SLOW_ARTICLES


# The old names work for one release, as the new ones do, with one deprecation line each.
OLD_NAMES = {
    "DISTRIBUTED_ENABLED": "NEWSSPIDER_DISTRIBUTED",
    "DISTRIBUTED_WRITER_WAIT": "NEWSSPIDER_WRITER_WAIT",
    "DISTRIBUTED_REDIS_PREFIX": "NEWSSPIDER_REDIS_PREFIX",
}


@pytest.mark.parametrize("old_names", [False, True])
def test_workers_without_a_writer_stop_with_a_clear_message(redis_server, tmp_path, old_names):
    given: dict[str, object] = dict(
        zip(OLD_NAMES, [1, 1, "a2"], strict=True)  # on, wait 1 s, prefix a2
    )
    if old_names:
        given = {OLD_NAMES[name]: value for name, value in given.items()}
    result = run_crawl("http://127.0.0.1:9", tmp_path / "w", REDIS_URL=redis_server.url, **given)
    assert result.returncode == 1
    assert "No archive writer is running for a2;" in result.stderr
    deprecated = [line for line in result.stderr.splitlines() if "is deprecated" in line]
    expected = [
        f"WARNING: {old} is deprecated; use {new} (the old name works until the next release)"
        for new, old in OLD_NAMES.items()
    ]
    logged = sorted(line.partition("] ")[2] for line in deprecated)
    assert logged == (sorted(expected) if old_names else [])


def test_an_unreachable_redis_is_one_line_and_exit_1(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings = ["-s", "DISTRIBUTED_ENABLED=1", "-s", f"REDIS_URL={url}"]
    archive = ["-s", f"ARCHIVE_DIR={tmp_path / 'a'}"]
    for command in (
        ["crawl", "sina_finance", *settings, *archive],
        ["crawl", "sina_writer", *settings, *archive],
        ["refresh", "--all", *settings, *archive],
    ):
        result = scrapy(*command)
        assert result.returncode == 1, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if "Redis" in line]
        assert len(lines) == 1, result.stderr[-3000:]
        assert lines[0].startswith(f"newsspider: cannot reach the Redis at {url} (")


def test_distributed_mode_needs_redis_url(tmp_path):
    result = run_crawl("http://127.0.0.1:9", tmp_path / "w", DISTRIBUTED_ENABLED=1)
    assert result.returncode == 2
    assert "DISTRIBUTED_ENABLED needs REDIS_URL" in result.stderr


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
