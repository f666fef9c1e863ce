"""The worker pool: tasks in worker processes give what they give in the crawl's process, a
dying worker fails its tasks with a clear error instead of hanging or crashing the crawl and is
replaced however often it dies, and workers that cannot start leave their tasks to the crawl's
process."""

import asyncio
import logging
import operator
import os
import signal
import sys
import time
import types

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from newsspider import workers
from newsspider.archive.body import BodyMode, render_body
from newsspider.config import WorkerConfig
from newsspider.sina.article import parse_article, read_article
from newsspider.spiders.sina_finance import SinaFinanceSpider
from newsspider.workers import WorkerCrashed, WorkerPool

from utils.content import DATA, GOLDEN_DIRS, GOLDENS


class Counts:
    """A stand-in for the stats collector."""

    def __init__(self):
        self.values = {}

    def inc_value(self, key, count=1):
        self.values[key] = self.values.get(key, 0) + count


def in_loop(coroutine_function, **pool_options):
    """Run ``coroutine_function(pool)`` in a fresh event loop with a one-worker pool, and
    close the pool whatever happens."""
    stats = Counts()

    async def main():
        pool = WorkerPool(1, stats, **pool_options)
        try:
            return await coroutine_function(pool)
        finally:
            await pool.close()

    return asyncio.run(main()), stats.values


def test_without_workers_or_without_a_loop_tasks_run_here():
    assert asyncio.run(WorkerPool(0).run(os.getpid)) == os.getpid()
    pool = WorkerPool(2)
    coroutine = pool.run(os.getpid)
    with pytest.raises(StopIteration) as done:  # no loop: it finishes without suspending
        coroutine.send(None)
    assert done.value.value == os.getpid()
    assert pool.started == 0


def test_pages_parsed_and_bodies_rendered_in_a_worker_match_the_crawl_process():
    pages = [(g.meta["url"], g.page.encode("utf-8")) for g in GOLDENS]

    async def work(pool):
        worker_pid = await pool.run(os.getpid)
        results = []
        for url, body in pages:
            page = await pool.run(read_article, body, "utf-8")
            bodies = [await pool.run(render_body, page.body_html, url, m) for m in BodyMode]
            results.append((page, bodies))
        return worker_pid, results

    (worker_pid, results), stats = in_loop(work)
    assert worker_pid != os.getpid()
    for (url, body), (page, bodies) in zip(pages, results, strict=True):
        assert page == read_article(body, "utf-8")
        assert bodies == [render_body(page.body_html, url, m) for m in BodyMode]
    assert stats["workers/started"] == 1
    assert stats["workers/tasks"] == 1 + (1 + len(BodyMode)) * len(pages)


PAGE_FILES = [g / "page.html" for g in GOLDEN_DIRS] + sorted((DATA / "pages").glob("*/*.html"))


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.parent.name)
def test_reading_raw_bytes_equals_reading_the_scrapy_response(path):
    """The worker gets ``response.body`` and ``response.encoding``: the page it reads is the one
    Scrapy decodes, with or without a charset header, in UTF-8 or GBK."""
    text = path.read_text(encoding="utf-8")
    variants = [
        (text.encode("utf-8"), {}),
        (text.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"}),
        (text.encode("gb18030", errors="replace"), {"Content-Type": "text/html; charset=GBK"}),
    ]
    for raw, headers in variants:
        response = HtmlResponse(
            url="https://finance.sina.com.cn/a.shtml", body=raw, headers=headers
        )
        assert read_article(response.body, response.encoding) == parse_article(response.selector)


def test_a_task_exception_reaches_the_caller_as_itself():
    async def work(pool):
        with pytest.raises(ZeroDivisionError):
            await pool.run(operator.truediv, 1, 0)
        return await pool.run(operator.add, 2, 3)  # the worker survives it

    result, stats = in_loop(work)
    assert result == 5
    assert "workers/crashed" not in stats


def test_what_a_task_prints_does_not_break_the_pipe(capfd):
    async def work(pool):
        await pool.run(print, "printed by a task")
        return await pool.run(operator.mul, 6, 7)

    assert in_loop(work)[0] == 42
    assert "printed by a task" in capfd.readouterr().err


def test_a_worker_that_dies_fails_its_tasks_and_is_replaced():
    async def work(pool):
        first = await pool.run(os.getpid)
        with pytest.raises(WorkerCrashed, match="exited with status 3"):
            await pool.run(os._exit, 3)
        second = await pool.run(os.getpid)
        return first, second

    (first, second), stats = in_loop(work)
    assert first != second
    assert stats["workers/crashed"] == 1
    assert stats["workers/started"] == 2


def test_a_killed_worker_fails_every_task_it_held():
    async def work(pool):
        pid = await pool.run(os.getpid)
        slow = [asyncio.ensure_future(pool.run(time.sleep, 5)) for _ in range(3)]
        await asyncio.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        outcomes = await asyncio.gather(*slow, return_exceptions=True)
        return outcomes, await pool.run(operator.add, 1, 1)

    (outcomes, after), _stats = in_loop(work)
    assert all(isinstance(o, WorkerCrashed) for o in outcomes), outcomes
    assert after == 2


def test_a_worker_stuck_on_a_task_is_killed_and_replaced():
    async def work(pool):
        with pytest.raises(WorkerCrashed, match=r"sleep took more than 0\.5s"):
            await pool.run(time.sleep, 30)
        return await pool.run(operator.add, 20, 22)

    started = time.monotonic()
    assert in_loop(work, task_timeout=0.5)[0] == 42
    assert time.monotonic() - started < 10


def test_scattered_crashes_never_stop_the_workers():
    """A long crawl loses a worker now and then (the OOM killer): each death fails only the
    task its worker held, a new worker takes over every time, however many there are."""
    rounds = 8  # more than the 5 crashes the pool once gave up after

    async def work(pool):
        results = []
        for round_ in range(rounds):
            results += [await pool.run(operator.mul, round_, i) for i in range(5)]
            with pytest.raises(WorkerCrashed, match="exited with status 1"):
                await pool.run(os._exit, 1)
        return results, await pool.run(os.getpid), pool.started

    (results, pid, started), stats = in_loop(work)
    assert results == [r * i for r in range(rounds) for i in range(5)]
    assert pid != os.getpid()
    assert started == 1
    assert stats["workers/crashed"] == rounds
    assert stats["workers/started"] == rounds + 1
    assert "workers/in_process" not in stats


def test_workers_killed_by_their_first_task_are_restarted_not_run_here(monkeypatch):
    """A worker that came up and died on its first task may have been killed by that very
    page: however many do so in a row, tasks still go to worker processes (here, running
    ``os._exit`` in the crawl's process would end the test run)."""
    monkeypatch.setattr(workers, "restart_delay", lambda failures: 0.0, raising=False)
    crashes = 7

    async def work(pool):
        for _ in range(crashes):
            with pytest.raises(WorkerCrashed, match="exited with status 1"):
                await pool.run(os._exit, 1)
        return await pool.run(os.getpid)

    pid, stats = in_loop(work)
    assert pid != os.getpid()
    assert stats["workers/crashed"] == crashes
    assert "workers/in_process" not in stats


def test_restart_delay_grows_while_workers_fail_and_is_capped():
    delays = [workers.restart_delay(n) for n in range(9)]
    assert delays == [0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert workers.restart_delay(10_000) == workers.RESTART_DELAY_MAX
    assert workers.restart_delay(4, first=0.1, cap=0.3) == 0.3


def test_the_pool_waits_longer_while_workers_fail_and_not_once_one_works(monkeypatch):
    """The pool asks for the delay with the failures since a task last finished; tasks that
    come during the wait wait for the new worker and do not fail."""
    asked = []
    schedule = workers.restart_delay

    def recording(failures):
        asked.append(failures)
        return schedule(failures, first=0.05)

    monkeypatch.setattr(workers, "restart_delay", recording)

    async def work(pool):
        for _ in range(3):
            with pytest.raises(WorkerCrashed):
                await pool.run(os._exit, 1)
        waited = await asyncio.gather(*(pool.run(operator.add, i, 1) for i in range(3)))
        with pytest.raises(WorkerCrashed):
            await pool.run(os._exit, 1)
        return waited, await pool.run(os.getpid)

    (waited, pid), _stats = in_loop(work)
    assert waited == [1, 2, 3]
    assert pid != os.getpid()
    # one start per death: failures 0 (first start), 1, 2, 3; a task finished; then 1 again
    assert asked == [0, 1, 2, 3, 1]


def _unstartable(kind, tmp_path):
    """A ``sys.executable`` with which no worker comes up, and what the pool sees of it."""
    if kind == "no interpreter":
        return "/nonexistent/python"
    if kind == "exits at once":
        return "/bin/false"
    script = tmp_path / "python"
    if kind == "cannot import the worker module":
        script.write_text(f"#!/bin/sh\nexec {sys.executable} -m newsspider_no_such_module\n")
    else:  # silent
        script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    "kind", ["no interpreter", "exits at once", "cannot import the worker module", "silent"]
)
def test_when_workers_cannot_start_tasks_run_here(kind, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("sys.executable", _unstartable(kind, tmp_path))
    caplog.set_level(logging.INFO, logger="newsspider.workers")

    async def work(pool):
        first = await asyncio.gather(*(pool.run(operator.add, i, 1) for i in range(4)))
        later = await pool.run(os.getpid)
        return first, later, pool.started, pool.in_process

    options = {"start_timeout": 0.3} if kind == "silent" else {}
    (first, later, started, in_process), stats = in_loop(work, **options)
    assert first == [1, 2, 3, 4]
    assert later == os.getpid()
    assert (started, in_process) == (0, True)
    assert stats["workers/in_process"] == 5
    assert stats["workers/start_failed"] == workers.START_ATTEMPTS  # no attempt after giving up
    assert "workers/started" not in stats
    assert "workers/crashed" not in stats
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("Worker processes cannot be started")
    assert "tasks run in the crawl's process for the rest of the crawl" in warnings[0]


def test_a_task_the_workers_cannot_load_runs_here(monkeypatch, caplog):
    """Code the crawl has but its workers cannot import (newsspider upgraded under a long
    crawl, say): the task never ran in the worker, so it runs here, once, and succeeds."""
    vanished = types.ModuleType("newsspider_vanished")
    exec("import os\ndef pid():\n    return os.getpid()\n", vanished.__dict__)
    monkeypatch.setitem(sys.modules, "newsspider_vanished", vanished)
    caplog.set_level(logging.INFO, logger="newsspider.workers")

    async def work(pool):
        worker_pid = await pool.run(os.getpid)
        here = [await pool.run(vanished.pid) for _ in range(2)]
        return worker_pid, here, await pool.run(os.getpid)

    (worker_pid, here, still), stats = in_loop(work)
    assert here == [os.getpid()] * 2
    assert worker_pid == still != os.getpid()  # the running worker carries on
    assert stats["workers/in_process"] == 2
    assert "workers/crashed" not in stats
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "could not load a task (ModuleNotFoundError" in warnings[0]


def test_timeouts_never_move_tasks_into_this_process():
    """A page that makes the parser spin would hang the crawl if it ran here: workers killed
    for taking too long are replaced, however many in a row."""

    async def work(pool):
        for _ in range(workers.START_ATTEMPTS):
            with pytest.raises(WorkerCrashed, match="took more than"):
                await pool.run(time.sleep, 30)
        return await pool.run(os.getpid), pool.in_process

    (pid, in_process), stats = in_loop(work, task_timeout=0.3)
    assert pid != os.getpid()
    assert in_process is False
    assert stats["workers/crashed"] == workers.START_ATTEMPTS
    assert "workers/in_process" not in stats


def test_workers_ignore_ctrl_c_and_exit_when_the_pool_closes():
    async def work(pool):
        pid = await pool.run(os.getpid)
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
        assert await pool.run(operator.add, 1, 2) == 3
        await pool.close()
        return pid

    pid, stats = in_loop(work)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "workers/crashed" not in stats


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("3", 3), (" 2 ", 2), ("auto", None)],
)
def test_worker_processes_setting(value, expected):
    settings = get_crawler(SinaFinanceSpider, {"WORKER_PROCESSES": value}).settings
    cpus = len(os.sched_getaffinity(0))
    wanted = expected if expected is not None else (0 if cpus == 1 else min(4, cpus))
    assert WorkerConfig.from_settings(settings).process_count(4) == wanted
