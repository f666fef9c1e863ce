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
memory) fails the tasks it held with :class:`WorkerCrashed` (callers drop the article with a
counted reason: it is not indexed, so the next run fetches it again), and a new worker replaces
it for as long as the crawl lasts. Deaths with no task finished in between delay the next start
(:func:`restart_delay`), so workers that die at once do not burn a CPU being restarted; tasks
wait for the new worker, they do not fail.

A worker greets the pool once it is up, and is given tasks only then. A worker that cannot be
started (spawning fails, it exits or stays silent before its greeting) failed before it ran
any task, so what is wrong is the worker, never a page: after :data:`START_ATTEMPTS` such
failures in a row, or when a worker cannot even load a task's code, the pool stops starting
workers and runs tasks in the crawl's process, as with ``WORKER_PROCESSES = 0``. A worker that
dies during a task may have been killed by that very page, which would take the crawl down with
it if run here: those deaths, timeouts included, only ever delay the restart.

Workers start with the first task (a run with nothing new starts none), ignore SIGINT and SIGTERM
(the crawl shuts down gracefully and still needs them to finish what it holds) and exit when the
crawl closes their stdin. If the crawl is killed, the kernel kills them too (Linux), so that no
worker goes on writing posts for a dead crawl; what they left half done is a temp file that the
next run removes.

A task that runs longer than ``WORKER_TASK_TIMEOUT`` seconds (a page that makes the parser spin)
gets its worker killed, with the same outcome as a crash: the crawl never waits forever.

Settings: ``WORKER_PROCESSES`` (``auto``: one per CPU when there are several, at most
:data:`AUTO_MAX`; ``0``: everything in the crawl's process), ``WORKER_TASK_TIMEOUT`` (60).
Stats: ``workers/started``, ``workers/tasks``, ``workers/crashed`` (workers that died with tasks
or while idle), ``workers/start_failed`` (starts that failed), ``workers/in_process`` (tasks run
in the crawl's process because workers could not be started).
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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Final, TypeVar, cast

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

T = TypeVar("T")

AUTO_MAX: Final = 4
"""``WORKER_PROCESSES = "auto"`` starts at most this many workers."""
DEFAULT_TASK_TIMEOUT: Final = 60.0
"""``WORKER_TASK_TIMEOUT``: seconds a task may run before its worker is killed (0: no limit)."""
CLOSE_TIMEOUT: Final = 10.0
"""Seconds a worker gets to exit after its stdin is closed; then it is killed."""
START_TIMEOUT: Final = 30.0
"""Seconds a new worker has to greet the pool; then it is killed and counts as a failed start."""
START_ATTEMPTS: Final = 3
"""Failed worker starts in a row after which the pool runs tasks in the crawl's process."""
RESTART_DELAY: Final = 0.25
"""Seconds before a worker start that follows two failures with no task finished between."""
RESTART_DELAY_MAX: Final = 8.0
"""The longest wait between worker starts."""

WORKER_CRASHED: Final = "worker_crashed"
"""The reason (``sina/failed/worker_crashed``) callers count a task lost with its worker under."""

_HEADER = struct.Struct(">I")  # a reply: its size
_TASK_HEADER = struct.Struct(">IQ")  # a task: its size and id (outside the pickle: see serve)
_READY = b"newsspider worker ready\n"
_PARENT_ENV = "NEWSSPIDER_WORKER_PARENT"
_PR_SET_PDEATHSIG = 1
_PIPE_SIZE = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size


class WorkerCrashed(RuntimeError):
    """The worker process running a task died before it answered."""


class _StartFailed(Exception):
    """A worker process could not be started, or did not come up."""


class _NotLoaded(Exception):
    """A worker could not unpickle a task (its interpreter lacks the task's code); the task
    never ran."""


def restart_delay(
    failures: int, *, first: float = RESTART_DELAY, cap: float = RESTART_DELAY_MAX
) -> float:
    """Seconds to wait before starting a worker, after ``failures`` worker deaths or failed
    starts in a row with no task finished since.

    None or one: no wait (a worker killed now and then, by the OOM killer say, is replaced at
    once). From two on: ``first``, doubling with each further failure, at most ``cap``.
    """
    if failures <= 1:
        return 0.0
    return float(min(cap, first * 2.0 ** min(failures - 2, 64)))


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
    call) tasks run in this process too, and so do they once workers cannot be started.
    """

    def __init__(
        self,
        processes: int,
        stats: StatsCollector | None = None,
        *,
        task_timeout: float = DEFAULT_TASK_TIMEOUT,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.processes = processes
        self.stats = stats
        self.task_timeout = task_timeout
        self.start_timeout = start_timeout
        self._workers: list[_Worker] = []  # up and taking tasks
        self._ids = itertools.count()
        self._spawner: asyncio.Task[None] | None = None
        self._changed: asyncio.Future[None] | None = None
        # Worker deaths and failed starts since a task last finished: the restart delay.
        self._failures = 0
        # Failed starts in a row: START_ATTEMPTS of them and no worker is started again.
        self._start_failures = 0
        self._gave_up: str | None = None
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerPool:
        """The crawl's pool (an extension: Scrapy builds it once, components reach it with
        :meth:`of`); closed when the spider closes."""
        # Imported here: a worker process imports this module and needs neither.
        from scrapy import signals

        from newsspider.config import Config

        config = Config.of(crawler).worker
        pool = cls(config.process_count(AUTO_MAX), crawler.stats, task_timeout=config.task_timeout)
        crawler.signals.connect(pool.close, signal=signals.spider_closed)
        return pool

    @classmethod
    def of(cls, crawler: Crawler) -> WorkerPool:
        """The crawl's pool; one that runs every task in this process when the extension is
        not enabled."""
        return crawler.get_extension(cls) or cls(0, crawler.stats)

    @property
    def started(self) -> int:
        """Worker processes running now and taking tasks."""
        return len(self._workers)

    @property
    def in_process(self) -> bool:
        """True once workers could not be started: tasks run in this process when none of the
        workers already running is left."""
        return self._gave_up is not None

    async def run(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``func(*args, **kwargs)``, in a worker process when the pool has any."""
        if self.processes <= 0 or _running_loop() is None:
            return func(*args, **kwargs)
        loop = asyncio.get_running_loop()
        payload = pickle.dumps((func, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        while True:
            worker = await self._pick()
            if worker is None:
                return self._here(func, args, kwargs)
            task_id = next(self._ids)
            stdin = worker.process.stdin
            assert stdin is not None
            try:
                stdin.writelines([_TASK_HEADER.pack(len(payload), task_id), payload])
            except (ConnectionError, RuntimeError):
                # The pipe closed under us: the worker is gone, and never got this task.
                self._retire(worker)
                continue
            break
        future: asyncio.Future[Any] = loop.create_future()
        worker.pending[task_id] = future
        self._count("workers/tasks")
        timer = None
        if self.task_timeout > 0:
            timer = loop.call_later(self.task_timeout, self._expire, worker, future, func)
        try:
            return cast(T, await future)
        except _NotLoaded as exc:
            self._give_up(f"a worker process could not load a task ({exc})")
            return self._here(func, args, kwargs)
        finally:
            if timer is not None:
                timer.cancel()

    def _here(self, func: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        self._count("workers/in_process")
        return func(*args, **kwargs)

    def _expire(
        self, worker: _Worker, future: asyncio.Future[Any], func: Callable[..., Any]
    ) -> None:
        """A task ran past ``WORKER_TASK_TIMEOUT``: its worker is stuck (a page that makes the
        parser spin, say). Killing it fails the task and the others it held, and frees the
        crawl from waiting forever; a new worker replaces it. The page may spin here too, so
        this never counts as a failed start."""
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
        self._retire(worker)  # no new task goes to it
        worker.process.kill()

    async def _pick(self) -> _Worker | None:
        """The least busy worker, once one is up; None when the task is to run here."""
        while True:
            if self._closing:
                raise WorkerCrashed("the worker pool is closed")
            if (
                len(self._workers) < self.processes
                and self._gave_up is None
                and self._spawner is None
            ):
                self._spawner = asyncio.ensure_future(self._spawn())
            if self._workers:
                return min(self._workers, key=lambda w: len(w.pending))
            if self._gave_up is not None:
                return None
            if self._changed is None:
                self._changed = asyncio.get_running_loop().create_future()
            # Shielded: one waiting task cancelled must not cancel the wait of the others.
            await asyncio.shield(self._changed)

    def _notify(self) -> None:
        """Wake the tasks waiting for a worker: one came up, or the pool gave up or closed."""
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        self._changed = None

    async def _spawn(self) -> None:
        """Start workers until the pool has ``processes`` of them, one at a time, waiting
        :func:`restart_delay` before each; give up after :data:`START_ATTEMPTS` failed starts
        in a row."""
        try:
            while (
                len(self._workers) < self.processes and self._gave_up is None and not self._closing
            ):
                delay = restart_delay(self._failures)
                if delay > 0:
                    logger.info(
                        "Worker processes failed %d times in a row; the next starts in %gs",
                        self._failures,
                        delay,
                    )
                    await asyncio.sleep(delay)
                try:
                    worker = await self._start()
                except Exception as exc:  # _StartFailed, or a bug: never retried forever
                    if not isinstance(exc, _StartFailed):
                        exc = _StartFailed(f"{type(exc).__name__}: {exc}")
                    self._failures += 1
                    self._start_failures += 1
                    self._count("workers/start_failed")
                    if self._start_failures >= START_ATTEMPTS:
                        self._give_up(f"{self._start_failures} starts in a row failed; last: {exc}")
                    else:
                        logger.info("Could not start a worker process: %s", exc)
                    continue
                self._start_failures = 0
                self._workers.append(worker)
                self._notify()
        finally:
            self._spawner = None
            self._notify()

    def _give_up(self, reason: str) -> None:
        """Start no more workers in this crawl; tasks run here once no worker is left."""
        if self._gave_up is not None:
            return
        self._gave_up = reason
        running = len(self._workers)
        logger.warning(
            "Worker processes cannot be started (%s); %s",
            reason,
            "tasks run in the crawl's process for the rest of the crawl"
            if not running
            else f"no more are started, and tasks run in the crawl's process once the {running} "
            "still running are gone",
        )
        self._notify()

    async def _start(self) -> _Worker:
        """A new worker that has greeted the pool; :class:`_StartFailed` if none came up."""
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
            raise _StartFailed(f"could not run {sys.executable}: {exc}") from exc
        stdout = process.stdout
        assert stdout is not None
        try:
            greeting = await asyncio.wait_for(stdout.readexactly(len(_READY)), self.start_timeout)
        except asyncio.IncompleteReadError:
            # It closed its output: it is exiting. (Killing it now could reap it behind
            # asyncio's back, which then reports a bogus status.)
            code = await _kill(process, grace=CLOSE_TIMEOUT)
            raise _StartFailed(
                f"worker process {process.pid} exited with status {code} before it was ready"
            ) from None
        except TimeoutError:
            problem = f"was not ready within {self.start_timeout:g}s"
        except BaseException:  # the pool closed meanwhile
            await _kill(process)
            raise
        else:
            problem = "" if greeting == _READY else f"began its output with {greeting!r}"
        if problem:
            await _kill(process)
            raise _StartFailed(f"worker process {process.pid} {problem}; killed it")
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
                task_id, ok, value = pickle.loads(await stdout.readexactly(size))
                self._failures = 0  # a worker finished a task: workers work
                future = worker.pending.pop(task_id, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(value)
                elif ok is None:
                    future.set_exception(_NotLoaded(value))
                else:
                    future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError):
            pass
        await self._lost(worker)

    def _retire(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)

    async def _lost(self, worker: _Worker) -> None:
        self._retire(worker)
        code = await worker.process.wait()
        if not worker.pending and self._closing:
            return
        self._failures += 1
        self._count("workers/crashed")
        error = WorkerCrashed(f"worker process {worker.process.pid} exited with status {code}")
        logger.warning("%s; %d task(s) failed with it", error, len(worker.pending))
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(error)
        worker.pending.clear()

    async def close(self) -> None:
        """Let the workers finish and exit; kill any that do not within :data:`CLOSE_TIMEOUT`.
        Tasks still waiting for a worker fail with :class:`WorkerCrashed`."""
        self._closing = True
        spawner = self._spawner
        if spawner is not None:
            spawner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await spawner
        self._notify()
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


async def _kill(process: asyncio.subprocess.Process, grace: float = 0.0) -> int:
    """``process``'s exit status, killing it if it has not exited within ``grace`` seconds."""
    if grace > 0:
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(process.wait(), grace)
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    return await process.wait()


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
    """The worker's loop: read a task, run it, write its result; return at end of input.

    A reply is ``(task id, ok, value)``: ``ok`` True for a result, False for the
    exception the task raised, None (with the error as text) for a task that could not be
    unpickled here."""
    while True:
        header = tasks.read(_TASK_HEADER.size)
        if len(header) < _TASK_HEADER.size:
            return
        size, task_id = _TASK_HEADER.unpack(header)
        payload = tasks.read(size)
        if len(payload) < size:
            return
        ok: bool | None
        value: Any
        try:
            func, args, kwargs = pickle.loads(payload)
        except Exception as exc:
            # This interpreter lacks the task's code (say, newsspider was upgraded under a long
            # crawl): the task never ran, and the pool runs it in the crawl's process.
            ok, value = None, f"{type(exc).__name__}: {exc}"
        else:
            try:
                ok, value = True, func(*args, **kwargs)
            except Exception as exc:
                ok, value = False, _portable(exc)
        reply = pickle.dumps((task_id, ok, value), pickle.HIGHEST_PROTOCOL)
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
    # Up: the pool sends tasks only after this, so a worker that dies before it held none.
    results.write(_READY)
    results.flush()
    serve(sys.stdin.buffer, results)


if __name__ == "__main__":
    main()
