"""The worker pool: tasks in worker processes give what they give in the crawl's process, and a
dying worker fails its tasks with a clear error instead of hanging or crashing the crawl."""

import asyncio
import operator
import os
import signal
import time

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from newsspider.archive.body import BodyMode, render_body
from newsspider.config import worker_processes
from newsspider.sina.article import parse_article, read_article
from newsspider.spiders.sina_finance import SinaFinanceSpider
from newsspider.workers import MAX_CRASHES, WorkerCrashed, WorkerPool

from conftest import DATA, GOLDEN_DIRS, GOLDENS


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
    assert stats["workers/tasks"] == 1 + 3 * len(pages)


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


def test_a_worker_that_cannot_start_fails_the_task(monkeypatch):
    monkeypatch.setattr("sys.executable", "/nonexistent/python")

    async def work(pool):
        with pytest.raises(WorkerCrashed, match="could not start a worker process"):
            await pool.run(operator.add, 1, 1)
        return pool.started

    started, stats = in_loop(work)
    assert started == 0
    assert stats["workers/crashed"] == 1


def test_after_too_many_crashes_the_pool_gives_up():
    async def work(pool):
        for _ in range(MAX_CRASHES):
            with pytest.raises(WorkerCrashed):
                await pool.run(os._exit, 1)
        with pytest.raises(WorkerCrashed, match="not restarted"):
            await pool.run(operator.add, 1, 1)

    _, stats = in_loop(work)
    assert stats["workers/crashed"] == MAX_CRASHES


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
    assert worker_processes(settings, 4) == wanted
