"""Worker processes for newsspider's heavy steps: parsing pages, rendering bodies, writing posts.

Scrapy's engine runs on one core. Parsing a 70 KB page, rendering its body and writing the post
cost more CPU than Scrapy spends fetching it, so with ``WORKER_PROCESSES`` above 0 these steps
run in worker processes and the crawl's own process keeps its core for Scrapy.

The pool talks to its workers over their stdin/stdout pipes from the reactor's asyncio event
loop: a task is one write of a length-prefixed pickle, its result one read. There are no helper
threads in the crawl process on purpose: a helper thread has to win the GIL from the busy
reactor thread at every hand-off, which can take the interpreter's switch interval (5 ms), and a
``concurrent.futures`` process pool, which hands each task through two such threads, made the
crawl no faster at all (``benchmarks/README.md``).

What runs in a worker must be a module-level function whose arguments and result pickle; an
exception it raises reaches the caller as if it had run here. A worker that dies (killed, out of
memory) fails the tasks it held with :class:`WorkerCrashed`, and the next task starts a new one;
after :data:`MAX_CRASHES` crashes in one crawl the pool stops starting workers and every task
fails with :class:`WorkerCrashed` (callers drop the article with a counted reason: it is not
indexed, so the next run fetches it again).

Workers start with the first task (a run with nothing new starts none), ignore SIGINT and SIGTERM
(the crawl shuts down gracefully and still needs them to finish what it holds) and exit when the
crawl closes their stdin. If the crawl is killed, the kernel kills them too (Linux), so that no
worker goes on writing posts for a dead crawl; what they left half done is a temp file that the
next run removes.

A task that runs longer than ``WORKER_TASK_TIMEOUT`` seconds (a page that makes the parser spin)
gets its worker killed, with the same outcome as a crash: the crawl never waits forever.

Settings: ``WORKER_PROCESSES`` (``auto``: one per CPU when there are several, at most
:data:`AUTO_MAX`; ``0``: everything in the crawl's process), ``WORKER_TASK_TIMEOUT`` (60).
Stats: ``workers/started``, ``workers/tasks``, ``workers/crashed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import logging
import os
import pickle
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Final, TypeVar, cast
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

T = TypeVar("T")

AUTO_MAX: Final = 4
"""``WORKER_PROCESSES = "auto"`` starts at most this many workers."""
MAX_CRASHES: Final = 5
"""Worker crashes one crawl tolerates before it stops starting workers."""
DEFAULT_TASK_TIMEOUT: Final = 60.0
"""``WORKER_TASK_TIMEOUT``: seconds a task may run before its worker is killed (0: no limit)."""
CLOSE_TIMEOUT: Final = 10.0
"""Seconds a worker gets to exit after its stdin is closed; then it is killed."""

WORKER_CRASHED: Final = "worker_crashed"
"""The reason (``sina/failed/worker_crashed``) callers count a task lost with its worker under."""

_HEADER = struct.Struct(">I")
_PARENT_ENV = "NEWSSPIDER_WORKER_PARENT"
_PR_SET_PDEATHSIG = 1
_PIPE_SIZE = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size
_BY_CRAWLER: WeakKeyDictionary[Any, WorkerPool] = WeakKeyDictionary()


class WorkerCrashed(RuntimeError):
    """The worker process running a task died before it answered."""


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class WorkerPool:
    """Runs module-level functions in ``processes`` worker processes (0: in this process).

    Without a running asyncio event loop (Scrapy on a non-asyncio reactor, a plain function
    call) tasks run in this process too.
    """

    def __init__(
        self,
        processes: int,
        stats: StatsCollector | None = None,
        *,
        task_timeout: float = DEFAULT_TASK_TIMEOUT,
    ) -> None:
        self.processes = processes
        self.stats = stats
        self.task_timeout = task_timeout
        self._workers: list[_Worker] = []
        self._ids = itertools.count()
        self._starting: asyncio.Lock | None = None
        self._crashes = 0
        self._closing = False

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> WorkerPool:
        """The crawl's pool, shared by its components; closed when the spider closes."""
        # Imported here: a worker process imports this module and needs neither.
        from scrapy import signals

        from newsspider.config import worker_processes

        pool = _BY_CRAWLER.get(crawler)
        if pool is None:
            pool = cls(
                worker_processes(crawler.settings, AUTO_MAX),
                crawler.stats,
                task_timeout=crawler.settings.getfloat("WORKER_TASK_TIMEOUT", DEFAULT_TASK_TIMEOUT),
            )
            crawler.signals.connect(pool.close, signal=signals.spider_closed)
            _BY_CRAWLER[crawler] = pool
        return pool

    @property
    def started(self) -> int:
        """Worker processes running now."""
        return len(self._workers)

    async def run(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``func(*args, **kwargs)``, in a worker process when the pool has any."""
        value, _cpu = await self.run_timed(func, *args, **kwargs)
        return value

    async def run_timed(
        self, func: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> tuple[T, float]:
        """Like :meth:`run`, with the CPU seconds the task took in its worker process (0.0
        when it ran in this one)."""
        if self.processes <= 0 or _running_loop() is None:
            return func(*args, **kwargs), 0.0
        worker = await self._pick()
        loop = asyncio.get_running_loop()
        task_id = next(self._ids)
        future: asyncio.Future[Any] = loop.create_future()
        payload = pickle.dumps((task_id, func, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        worker.pending[task_id] = future
        stdin = worker.process.stdin
        assert stdin is not None
        try:
            stdin.writelines([_HEADER.pack(len(payload)), payload])
        except (ConnectionError, RuntimeError) as exc:  # the pipe closed under us
            worker.pending.pop(task_id, None)
            raise WorkerCrashed(f"worker process {worker.process.pid} is gone: {exc}") from exc
        self._count("workers/tasks")
        timer = None
        if self.task_timeout > 0:
            timer = loop.call_later(self.task_timeout, self._expire, worker, future, func)
        try:
            return cast(tuple[T, float], await future)
        finally:
            if timer is not None:
                timer.cancel()

    def _expire(
        self, worker: _Worker, future: asyncio.Future[Any], func: Callable[..., Any]
    ) -> None:
        """A task ran past ``WORKER_TASK_TIMEOUT``: its worker is stuck (a page that makes the
        parser spin, say). Killing it fails the task and the others it held, and frees the
        crawl from waiting forever; the next task starts a new worker."""
        if future.done() or worker.process.returncode is not None:
            return
        name = getattr(func, "__name__", repr(func))
        future.set_exception(
            WorkerCrashed(
                f"{name} took more than {self.task_timeout:g}s; worker process "
                f"{worker.process.pid} was killed"
            )
        )
        logger.warning(
            "Worker process %d spent more than %gs on a task (%s); killing it",
            worker.process.pid,
            self.task_timeout,
            name,
        )
        if worker in self._workers:  # no new task goes to it
            self._workers.remove(worker)
        worker.process.kill()

    async def _pick(self) -> _Worker:
        if self._crashes >= MAX_CRASHES:
            raise WorkerCrashed(f"worker processes crashed {self._crashes} times; not restarted")
        if len(self._workers) < self.processes:
            if self._starting is None:
                self._starting = asyncio.Lock()
            async with self._starting:
                if len(self._workers) < self.processes and not self._closing:
                    self._workers.append(await self._start())
        if not self._workers:
            raise WorkerCrashed("the worker pool is closed")
        return min(self._workers, key=lambda w: len(w.pending))

    async def _start(self) -> _Worker:
        env = dict(os.environ)
        # The crawl may import newsspider from a path a fresh interpreter does not have (a
        # checkout without an install, a Scrapyd egg): the worker gets this process's path.
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        env[_PARENT_ENV] = str(os.getpid())
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "newsspider.workers",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
        except OSError as exc:  # no interpreter to run, no processes left, …
            self._crashes += 1
            self._count("workers/crashed")
            logger.warning("Could not start a worker process: %s", exc)
            raise WorkerCrashed(f"could not start a worker process: {exc}") from exc
        _widen_pipe(process.stdin)
        worker = _Worker(process)
        worker.reader = asyncio.ensure_future(self._read(worker))
        self._count("workers/started")
        logger.debug("Started worker process %d", process.pid)
        return worker

    async def _read(self, worker: _Worker) -> None:
        stdout = worker.process.stdout
        assert stdout is not None
        try:
            while True:
                (size,) = _HEADER.unpack(await stdout.readexactly(_HEADER.size))
                task_id, ok, value, cpu = pickle.loads(await stdout.readexactly(size))
                future = worker.pending.pop(task_id, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result((value, cpu))
                else:
                    future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError):
            pass
        await self._lost(worker)

    async def _lost(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        code = await worker.process.wait()
        if not worker.pending and self._closing:
            return
        self._crashes += 1
        self._count("workers/crashed")
        error = WorkerCrashed(f"worker process {worker.process.pid} exited with status {code}")
        logger.warning(
            "%s; %d task(s) failed with it%s",
            error,
            len(worker.pending),
            "" if self._crashes < MAX_CRASHES else "; no more workers are started in this crawl",
        )
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(error)
        worker.pending.clear()

    async def close(self) -> None:
        """Let the workers finish and exit; kill any that do not within :data:`CLOSE_TIMEOUT`."""
        self._closing = True
        workers = list(self._workers)
        for worker in workers:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        for worker in workers:
            try:
                await asyncio.wait_for(worker.process.wait(), CLOSE_TIMEOUT)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()
            if worker.reader is not None:
                await worker.reader

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)


def _widen_pipe(stream: asyncio.StreamWriter | None) -> None:
    """Give a worker's stdin pipe room for a whole page (Linux): a 70 KB task then goes in one
    write, where the default 64 KB pipe needs a second one from the event loop."""
    if stream is None or not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    pipe = stream.transport.get_extra_info("pipe")
    with contextlib.suppress(OSError, AttributeError, ValueError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError that names it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def serve(tasks: IO[bytes], results: IO[bytes]) -> None:
    """The worker's loop: read a task, run it, write its result; return at end of input."""
    while True:
        header = tasks.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(header)
        payload = tasks.read(size)
        if len(payload) < size:
            return
        started = time.thread_time()
        task_id, func, args, kwargs = pickle.loads(payload)
        try:
            ok, value = True, func(*args, **kwargs)
        except Exception as exc:
            ok, value = False, _portable(exc)
        cpu = time.thread_time() - started
        reply = pickle.dumps((task_id, ok, value, cpu), pickle.HIGHEST_PROTOCOL)
        results.write(_HEADER.pack(len(reply)))
        results.write(reply)
        results.flush()


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when the crawl dies (Linux), so that a killed crawl's
    worker does not go on writing posts from the tasks still queued in its pipe."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker stops at the end of its input
        return
    if os.getppid() != parent:  # the crawl died before the request took effect
        os._exit(1)


def main() -> None:
    """Entry point of a worker process (``python -m newsspider.workers``)."""
    parent = int(os.environ.get(_PARENT_ENV) or os.getppid())
    _die_with_parent(parent)
    # Ctrl-C and a service manager's SIGTERM reach the whole process group; the crawl handles
    # them and still needs its workers to finish the pages it holds.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Nothing a task prints may reach the result pipe.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, results)


if __name__ == "__main__":
    main()
