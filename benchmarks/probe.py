"""Run a Scrapy command with in-process measurements; write them as JSON at exit.

    python benchmarks/probe.py OUT.json [--instrument] [--profile FILE] -- crawl sina_finance …

Everything after ``--`` is handed to ``scrapy.cmdline.execute`` as if typed after ``scrapy``.

What is measured:

* always: the crawl's final stats (Scrapy's stats collector, as the engine closes), the CPU time
  of this process and of its reaped children (user + system), their peak RSS (``ru_maxrss``) and
  the wall time from start to exit;
* with ``--instrument``: CPU (``time.thread_time``) and wall time spent in newsspider's own code
  per article, by wrapping the spider callbacks (``parse_roll``, ``parse_article``, the
  errbacks) and each newsspider item pipeline's ``process_item``. Generators, coroutines and
  async generators are timed step by step, so time spent suspended (Scrapy running something
  else) is never counted. The roll page's time is shared between the articles it requested;
* with ``--profile FILE``: a pyinstrument profile of the whole run, as text (needs
  ``pip install pyinstrument``); with ``--cprofile FILE``: a cProfile dump (``pstats``).

CPU and RSS are also taken when the stats collector opens and closes (the engine's start and
end), so that the crawl's own CPU can be told from the start-up's.

Nothing in the crawler is changed: the wrappers are installed on the classes in this process
only, before Scrapy starts.
"""

from __future__ import annotations

import atexit
import functools
import gc
import inspect
import json
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any

STARTED = time.perf_counter()
SPIDER_CALLBACKS = ("parse_roll", "parse_article", "on_roll_error", "on_article_error")
ARTICLE_CALLBACKS = ("spider.parse_article", "spider.on_article_error")

_state: dict[str, Any] = {"stats": None}
# url -> [cpu seconds, wall seconds, 1 when the article callback ran]: kept small, so that the
# measurement itself hardly adds to the peak RSS of the crawl
_per_article: dict[str, list[float]] = {}
# component -> [calls, cpu seconds, wall seconds]
_totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
_rolls: list[dict[str, Any]] = []


def _add(component: str, key: str | None, cpu: float, wall: float) -> None:
    total = _totals[component]
    total[1] += cpu
    total[2] += wall
    if key is not None:
        slot = _per_article.get(key)
        if slot is None:
            slot = _per_article[key] = [0.0, 0.0, 0]
        slot[0] += cpu
        slot[1] += wall
        if component in ARTICLE_CALLBACKS:
            slot[2] = 1


class _Clock:
    """CPU and wall time of one step."""

    __slots__ = ("cpu", "wall")

    def __enter__(self) -> _Clock:
        self.cpu = time.thread_time()
        self.wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.thread_time() - self.cpu
        self.wall = time.perf_counter() - self.wall


class _TimedAwaitable:
    """Drives an awaitable (coroutine, ``asend`` object…) and times each step it runs."""

    def __init__(self, inner: Any, record: Callable[[float, float], None]) -> None:
        self.inner = inner.__await__() if not hasattr(inner, "send") else inner
        self.record = record

    def __await__(self) -> Generator[Any, Any, Any]:
        to_send: Any = None
        to_throw: BaseException | None = None
        key = getattr(self.record, "key", None)
        while True:
            clock = _Clock()
            _state["key"] = key
            try:
                with clock:
                    if to_throw is not None:
                        yielded = self.inner.throw(to_throw)
                    else:
                        yielded = self.inner.send(to_send)
            except StopIteration as stop:
                self.record(clock.cpu, clock.wall)
                return stop.value
            except BaseException:
                self.record(clock.cpu, clock.wall)
                raise
            self.record(clock.cpu, clock.wall)
            try:
                to_send, to_throw = (yield yielded), None
            except BaseException as exc:  # thrown into us: pass it on
                to_send, to_throw = None, exc


def _timed_result(result: Any, record: Callable[[float, float], None], on_item: Any) -> Any:
    """Wrap what a callback or ``process_item`` returned so that its lazy work is timed too."""
    if inspect.isgenerator(result):
        return _timed_generator(result, record, on_item)
    if inspect.isasyncgen(result):
        return _timed_async_generator(result, record, on_item)
    if inspect.iscoroutine(result):
        return _await(_TimedAwaitable(result, record))
    return result


async def _await(awaitable: _TimedAwaitable) -> Any:
    return await awaitable


def _timed_generator(
    gen: Generator[Any, Any, Any], record: Callable[[float, float], None], on_item: Any
) -> Iterator[Any]:
    while True:
        clock = _Clock()
        try:
            with clock:
                value = next(gen)
        except StopIteration:
            record(clock.cpu, clock.wall)
            return
        record(clock.cpu, clock.wall)
        on_item(value)
        yield value


async def _timed_async_generator(
    agen: Any, record: Callable[[float, float], None], on_item: Any
) -> AsyncIterator[Any]:
    while True:
        try:
            value = await _TimedAwaitable(agen.__anext__(), record)
        except StopAsyncIteration:
            return
        on_item(value)
        yield value


def _request_key(request: Any) -> str | None:
    kwargs = getattr(request, "cb_kwargs", None) or {}
    return kwargs.get("url") or getattr(request, "url", None)


def _timed_call(
    component: str, key: str | None, original: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """Call ``original``, timing it (and the lazy work it returns) for article ``key``; the
    steps set ``_state["key"]`` so that worker tasks they send are counted to the article."""

    def record(cpu: float, wall: float) -> None:
        _add(component, key, cpu, wall)

    record.key = key  # type: ignore[attr-defined]
    _state["key"] = key
    clock = _Clock()
    with clock:
        result = original(*args, **kwargs)
    record(clock.cpu, clock.wall)
    _totals[component][0] += 1
    return _timed_result(result, record, lambda value: None)


def _wrap_callback(cls: type, name: str) -> bool:
    original = cls.__dict__.get(name) or getattr(cls, name, None)
    if original is None or getattr(original, "_probe", False):
        return False
    component = f"spider.{name}"

    if name == "parse_roll" or name == "on_roll_error":

        @functools.wraps(original)
        def roll_wrapper(self: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
            page: dict[str, Any] = {"cpu": 0.0, "wall": 0.0, "articles": []}
            _rolls.append(page)

            def record(cpu: float, wall: float) -> None:
                page["cpu"] += cpu
                page["wall"] += wall
                _add(component, None, cpu, wall)

            def on_item(value: Any) -> None:
                callback = getattr(value, "callback", None)
                if callback is not None and getattr(callback, "__name__", "") == "parse_article":
                    page["articles"].append(_request_key(value))

            clock = _Clock()
            with clock:
                result = original(self, response, *args, **kwargs)
            record(clock.cpu, clock.wall)
            _totals[component][0] += 1
            return _timed_result(result, record, on_item)

        roll_wrapper._probe = True  # type: ignore[attr-defined]
        setattr(cls, name, roll_wrapper)
        return True

    @functools.wraps(original)
    def wrapper(self: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        key = kwargs.get("url")
        if key is None:
            request = getattr(response, "request", None)
            key = _request_key(request) if request is not None else None
        if key is None:
            key = getattr(response, "url", None)

        return _timed_call(component, key, original, self, response, *args, **kwargs)

    wrapper._probe = True  # type: ignore[attr-defined]
    setattr(cls, name, wrapper)
    return True


def _wrap_process_item(cls: type) -> bool:
    original = getattr(cls, "process_item", None)
    if original is None or getattr(original, "_probe", False):
        return False
    component = f"pipeline.{cls.__name__}"

    @functools.wraps(original)
    def wrapper(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        return _timed_call(
            component, getattr(item, "url", None), original, self, item, *args, **kwargs
        )

    wrapper._probe = True  # type: ignore[attr-defined]
    cls.process_item = wrapper  # type: ignore[attr-defined]
    return True


def _wrap_worker_pool() -> bool:
    """Count the CPU each task took in a worker process (newsspider's ``WorkerPool``) to the
    article whose callback or pipeline step sent it, as ``worker.<function>``."""
    try:
        from newsspider.workers import WorkerPool
    except ImportError:
        return False
    original = WorkerPool.run_timed
    if getattr(original, "_probe", False):
        return False

    @functools.wraps(original)
    async def run_timed(self: Any, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        key = _state.get("key")  # set by the step that is calling us
        value, cpu = await original(self, func, *args, **kwargs)
        if cpu:
            component = f"worker.{getattr(func, '__name__', func)}"
            _totals[component][0] += 1
            _add(component, key, cpu, 0.0)
        return value, cpu

    run_timed._probe = True  # type: ignore[attr-defined]
    WorkerPool.run_timed = run_timed  # type: ignore[method-assign]
    return True


def _peak_rss_kb(pid: int) -> int:
    """``VmHWM`` of a live process: its peak RSS since its last exec (Linux), 0 if unknown.
    (``ru_maxrss`` of a child would report the parent's RSS at the fork instead.)"""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _watch_worker_memory() -> None:
    """Record each worker process's peak RSS just before the crawl closes its worker pool."""
    try:
        from newsspider.workers import WorkerPool
    except ImportError:
        return
    original = WorkerPool.close

    @functools.wraps(original)
    async def close(self: Any) -> None:
        peaks = [_peak_rss_kb(worker.process.pid) for worker in self._workers]
        _state["worker_peak_rss_kb"] = max([*peaks, _state.get("worker_peak_rss_kb", 0)])
        _state["workers"] = max(len(peaks), _state.get("workers", 0))
        await original(self)

    WorkerPool.close = close  # type: ignore[method-assign]


def install_timers() -> list[str]:
    """Wrap newsspider's spider callbacks and item pipelines; return what was wrapped."""
    from scrapy.utils.misc import load_object
    from scrapy.utils.project import get_project_settings

    wrapped = []
    settings = get_project_settings()
    try:
        from scrapy.utils.misc import walk_modules_iter as walk
    except ImportError:  # older Scrapy
        from scrapy.utils.misc import walk_modules as walk
    for module_name in settings.getlist("SPIDER_MODULES"):
        for module in walk(module_name):
            for obj in vars(module).values():
                if (
                    isinstance(obj, type)
                    and obj.__module__ == module.__name__
                    and obj.__module__.startswith("newsspider")
                ):
                    for name in SPIDER_CALLBACKS:
                        if name in obj.__dict__ and _wrap_callback(obj, name):
                            wrapped.append(f"{obj.__name__}.{name}")
    for path in settings.getwithbase("ITEM_PIPELINES"):
        cls = load_object(path) if isinstance(path, str) else path
        if cls.__module__.startswith("newsspider") and _wrap_process_item(cls):
            wrapped.append(f"{cls.__name__}.process_item")
    if _wrap_worker_pool():
        wrapped.append("WorkerPool.run_timed")
    return wrapped


_gc = {"started": 0.0, "seconds": 0.0, "full": 0}


def _gc_timer(phase: str, info: dict[str, int]) -> None:
    """Time spent in Python's cyclic garbage collector (all generations), and full collections."""
    if phase == "start":
        _gc["started"] = time.perf_counter()
    else:
        _gc["seconds"] += time.perf_counter() - _gc["started"]
        if info.get("generation") == 2:
            _gc["full"] += 1


def _usage() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu_self": own.ru_utime + own.ru_stime,
        "cpu_children": children.ru_utime + children.ru_stime,
        "maxrss_kb_self": own.ru_maxrss,
        "maxrss_kb_children": children.ru_maxrss,
        "wall": time.perf_counter() - STARTED,
        "gc_seconds": _gc["seconds"],
        "gc_full": _gc["full"],
    }


def _capture_stats() -> None:
    from scrapy.statscollectors import StatsCollector

    open_original = StatsCollector.open_spider
    close_original = StatsCollector.close_spider

    def open_spider(self: Any, *args: Any, **kwargs: Any) -> Any:
        _state["at_open"] = _usage()
        return open_original(self, *args, **kwargs)

    def close_spider(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = close_original(self, *args, **kwargs)
        _state["at_close"] = _usage()
        _state["stats"] = dict(self._stats)
        return result

    StatsCollector.open_spider = open_spider  # type: ignore[method-assign]
    StatsCollector.close_spider = close_spider  # type: ignore[method-assign]


def _jsonable(value: Any) -> Any:
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _samples() -> dict[str, Any]:
    share: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for page in _rolls:
        if page["articles"]:
            n = len(page["articles"])
            for key in page["articles"]:
                share[key][0] += page["cpu"] / n
                share[key][1] += page["wall"] / n
    articles = []
    for key, (cpu, wall, is_article) in _per_article.items():
        if is_article:  # not robots.txt …
            articles.append([cpu + share[key][0], wall + share[key][1]])
    return {
        "article_cpu_wall": articles,
        "components": {k: {"calls": v[0], "cpu": v[1], "wall": v[2]} for k, v in _totals.items()},
        "roll_pages": [[p["cpu"], p["wall"], len(p["articles"])] for p in _rolls],
    }


def _write(out: str, wrapped: list[str] | None) -> None:
    report: dict[str, Any] = {
        **_usage(),
        "at_open": _state.get("at_open"),
        "at_close": _state.get("at_close"),
        "stats": {k: _jsonable(v) for k, v in (_state["stats"] or {}).items()},
        "workers": _state.get("workers", 0),
        "worker_peak_rss_kb": _state.get("worker_peak_rss_kb", 0),
        "wrapped": wrapped,
    }
    if wrapped is not None:
        report.update(_samples())
    tmp = f"{out}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(report, handle)
    os.replace(tmp, out)


def main(argv: list[str]) -> None:
    if "--" not in argv:
        raise SystemExit(__doc__)
    split = argv.index("--")
    options, scrapy_args = argv[:split], argv[split + 1 :]
    out = options[0]
    instrument = "--instrument" in options
    profile = options[options.index("--profile") + 1] if "--profile" in options else None
    cprofile = options[options.index("--cprofile") + 1] if "--cprofile" in options else None
    gc.callbacks.append(_gc_timer)
    _capture_stats()
    _watch_worker_memory()
    wrapped = install_timers() if instrument else None
    atexit.register(_write, out, wrapped)
    from scrapy.cmdline import execute

    if cprofile is not None:
        import cProfile

        profiler_c = cProfile.Profile()

        def save_c() -> None:
            profiler_c.disable()
            profiler_c.dump_stats(cprofile)

        atexit.register(save_c)
        profiler_c.enable()
        execute(["scrapy", *scrapy_args])
        return
    if profile is None:
        execute(["scrapy", *scrapy_args])
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)

    def save() -> None:
        profiler.stop()
        with open(profile, "w", encoding="utf-8") as handle:
            handle.write(profiler.output_text(unicode=True, color=False, show_all=False))

    atexit.register(save)
    profiler.start()
    execute(["scrapy", *scrapy_args])


if __name__ == "__main__":
    main(sys.argv[1:])
