"""Crawl benchmark: newsspider against a no-op Scrapy spider over a synthetic Sina mirror.

    python benchmarks/bench_crawl.py --repeat 3      # the figures of benchmarks/README.md
    python benchmarks/bench_crawl.py --quick         # small N, one run each: a smoke test

Every run is ``scrapy crawl`` (or ``scrapy runspider`` for the baseline) in its own process,
measured from outside and through Scrapy's signals and stats only, never by patching the
crawler's code: the operating system's accounting of the whole process tree (``wait4`` of the
crawl and of anything left of its tree, peak RSS from ``/proc``), and the probe extension
(``benchmarks/probe.py``: stats, requests by kind, the crawl process's own ``getrusage``).
``benchmarks/README.md`` explains each figure.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import glob
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import mirror_server  # noqa: E402  (benchmarks/ is not a package)

NUM = 50  # articles per roll page
CHANNELS = ",".join(c.name for c in mirror_server.DEFAULT_CHANNELS)
LISTS = ",".join(f"{c.pageid}:{c.lid}" for c in mirror_server.DEFAULT_CHANNELS)
BASELINE_CONCURRENT_ITEMS = 4
SAMPLE_SECONDS = 0.25  # how often the process tree's peak RSS is read
REAP_SECONDS = 30.0  # how long processes left by a finished crawl may take to exit
RETRY_SECONDS = 20.0  # before retrying a failed run (the crawler's code may be mid-edit)
COUNTS = ("roll", "article", "cpu_seconds")  # the mirror's counters of a run
BUSY_NOTE = 0.15  # cores used by other processes above which a run's figures are flagged

TARGET_RATIO = 0.8
TARGET_CPU_MS = 1.5
TARGET_SELF_CPU_MS = 0.3
TARGET_INCREMENTAL_S = 10.0
TARGET_RSS_GROWTH = 1.25  # "flat": the 4N peak under 1.25x the N peak


# --- one process tree -------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Live children of ``pid`` (Linux ``/proc/PID/task/*/children``; empty elsewhere)."""
    found: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in Path(path).read_text().split()]
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        pids.append(todo.pop())
        todo += _children(pids[-1])
    return pids


def _vm_hwm_kb(pid: int) -> int:
    """Peak RSS of a live process (``VmHWM``), 0 when gone or unknown."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _cpu(ru: Any) -> float:
    return float(ru.ru_utime + ru.ru_stime)


@dataclass
class Tree:
    """What the operating system says of one process and everything it started."""

    pid: int
    returncode: int
    wall: float  # process start to exit
    cpu: float  # user + system seconds of every process of the tree, reaped by wait4
    peak_rss_kb: dict[int, int]  # VmHWM of each process seen, by pid
    reaped_orphans: int  # processes that outlived the crawl and were reaped here


def run_tree(command: list[str], cwd: Path, env: dict[str, str], log: Path, keep: set[int]) -> Tree:
    """Run ``command`` and account for its whole tree.

    ``wait4`` of the process charges the CPU of its children that it reaped (worker
    processes); a process that outlives it is re-parented to this one (a child subreaper,
    :func:`become_subreaper`) and reaped here too, so its CPU counts as well. ``keep``: this
    process's own children that are not the run's (the mirrors).
    """
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    done: dict[str, Any] = {}

    def wait() -> None:
        _, status, ru = os.wait4(proc.pid, 0)
        done.update(status=status, ru=ru, wall=time.perf_counter() - started)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    hwm: dict[int, int] = {}
    while waiter.is_alive():
        for pid in _tree(proc.pid):
            hwm[pid] = max(hwm.get(pid, 0), _vm_hwm_kb(pid))
        waiter.join(SAMPLE_SECONDS)
    proc.returncode = os.waitstatus_to_exitcode(done["status"])
    cpu, orphans = _cpu(done["ru"]), 0
    deadline = time.monotonic() + REAP_SECONDS
    while (left := [p for p in _children(os.getpid()) if p not in keep]) and (
        time.monotonic() < deadline + 5
    ):
        for pid in left:
            with contextlib.suppress(ChildProcessError):
                reaped, _, ru = os.wait4(pid, os.WNOHANG)
                if reaped:
                    cpu, orphans = cpu + _cpu(ru), orphans + 1
                elif time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    return Tree(proc.pid, proc.returncode, done["wall"], cpu, hwm, orphans)


def become_subreaper() -> bool:
    """Make processes the runs leave behind this process's children (Linux ``prctl``)."""
    with contextlib.suppress(OSError, AttributeError):
        return bool(ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0)
    return False


def machine_busy_seconds() -> float:
    """CPU seconds all cores have been busy since boot (``/proc/stat``), or 0."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# --- the mirror -------------------------------------------------------------------------------


class Mirror:
    """``benchmarks/mirror_server.py`` with ``articles`` articles, in its own process."""

    def __init__(self, articles: int, workdir: Path) -> None:
        self.articles = articles
        self.pages = mirror_server.roll_pages(articles)
        ready = workdir / f"mirror-{articles}.ready"
        ready.unlink(missing_ok=True)
        command = [sys.executable, str(HERE / "mirror_server.py"), "--articles", str(articles)]
        command += ["--port", "0", "--ready-file", str(ready)]
        log = workdir / "logs" / f"mirror-{articles}.log"
        with open(log, "wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60 + articles / 100
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the mirror did not start; see {log}")
            time.sleep(0.05)
        fields = dict(f.split("=", 1) for f in ready.read_text().split()[2:])
        self.url = ready.read_text().split()[1]
        self.mean_page_kb = int(fields["page_bytes"]) / articles / 1024

    def counters(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.url}/__stats__", timeout=10) as answer:
            return dict(json.loads(answer.read()))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- runs -------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    tree: Tree
    probe: dict[str, Any]
    served: dict[str, float]  # the mirror's counters during the run (COUNTS)
    other_load: float  # cores kept busy by processes other than the run and the mirrors
    posts: int | None  # Markdown files in the archive after the run (crawls only)

    @property
    def articles(self) -> int:
        return int(self.served["article"])

    @property
    def rate(self) -> float:
        """Articles per second, ``engine_started`` to ``spider_closed``."""
        return self.articles / float(self.probe["engine_seconds"])

    @property
    def self_cpu(self) -> float:
        """CPU seconds of the crawl process alone (all its threads), up to its exit."""
        return float(self.probe["at_exit"]["self"]["cpu"])

    @property
    def peak_rss_mb(self) -> float:
        """The crawl process's peak plus the peak of every other process of its tree."""
        own = int(self.probe["at_exit"]["self"]["maxrss_kb"])
        others = sum(kb for pid, kb in self.tree.peak_rss_kb.items() if pid != self.tree.pid)
        return (own + others) / 1024

    @property
    def processes(self) -> int:
        return len(self.tree.peak_rss_kb)


def count_posts(archive: Path) -> int:
    """Markdown files in the archive, outside its hidden state folders."""
    posts = archive.rglob("*.md")
    return sum(1 for p in posts if not any(s.startswith(".") for s in p.relative_to(archive).parts))


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    project: Any  # the project's Scrapy settings
    mirrors: dict[int, Mirror] = field(default_factory=dict)
    figures: list[dict[str, Any]] = field(default_factory=list)

    def mirror(self, articles: int) -> Mirror:
        if articles not in self.mirrors:
            started = time.perf_counter()
            self.mirrors[articles] = mirror = Mirror(articles, self.workdir)
            note(
                f"mirror of {articles} articles ready in {time.perf_counter() - started:.1f}s "
                f"(pages of {mirror.mean_page_kb:.1f} KB on average)"
            )
        return self.mirrors[articles]

    def stop_mirrors(self) -> None:
        while self.mirrors:
            self.mirrors.popitem()[1].stop()

    def common_settings(self) -> dict[str, Any]:
        """Settings of every run, baseline and crawls alike (see the README)."""
        concurrency = self.project.getint("CONCURRENT_REQUESTS")
        settings: dict[str, Any] = {
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "ROBOTSTXT_OBEY": self.project.getbool("ROBOTSTXT_OBEY"),
            "LOG_LEVEL": "INFO",
        }
        settings.update(dict(s.split("=", 1) for s in self.args.set))
        return settings

    def run(
        self,
        label: str,
        scrapy_args: list[str],
        settings: dict[str, Any],
        mirror: Mirror,
        *,
        cwd: Path = REPO,
        archive: Path | None = None,
        fresh: bool = False,
        prefix: Iterable[str] = (),
        python: Iterable[str] = ("-m", "scrapy"),
    ) -> Run:
        """One Scrapy process under the probe; retried once if it fails."""
        from scrapy.settings.default_settings import EXTENSIONS_BASE

        out = self.workdir / "runs" / f"{label}.json"
        settings = {
            **settings,
            "BENCH_PROBE_FILE": out,
            "EXTENSIONS_BASE": json.dumps({**EXTENSIONS_BASE, "probe.Probe": 1000}),
        }
        command = [*prefix, sys.executable, *python, *scrapy_args]
        command += [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), env.get("PYTHONPATH", "")])
        log = self.workdir / "logs" / f"{label}.log"
        for attempt in range(2):
            if fresh and archive is not None:
                shutil.rmtree(archive, ignore_errors=True)
            out.unlink(missing_ok=True)
            before = {n: m.counters() for n, m in self.mirrors.items()}
            busy, own = machine_busy_seconds(), own_cpu_seconds()
            keep = {m.process.pid for m in self.mirrors.values()}
            tree = run_tree(command, cwd, env, log, keep)
            busy, own = machine_busy_seconds() - busy, own_cpu_seconds() - own
            after = {n: m.counters() for n, m in self.mirrors.items()}
            mirrors_cpu = sum(after[n]["cpu_seconds"] - before[n]["cpu_seconds"] for n in after)
            served = {k: after[mirror.articles][k] - before[mirror.articles][k] for k in COUNTS}
            probe = json.loads(out.read_text()) if out.exists() else {}
            if tree.returncode == 0 and "at_exit" in probe:
                other = max(0.0, busy - tree.cpu - mirrors_cpu - own) / tree.wall
                posts = count_posts(archive) if archive is not None else None
                run = Run(label, tree, probe, served, other, posts)
                out.write_text(json.dumps({**probe, "tree": dataclasses.asdict(tree)}, indent=1))
                if tree.reaped_orphans:
                    note(f"{label}: {tree.reaped_orphans} processes outlived it (reaped, counted)")
                if other > BUSY_NOTE:
                    note(f"{label}: other processes kept {other:.2f} cores busy during the run")
                return run
            print(f"  ! {label} exited {tree.returncode}; the end of {log}:", file=sys.stderr)
            for line in log.read_text(errors="replace").splitlines()[-15:]:
                print(f"  ! {line}", file=sys.stderr)
            if attempt == 0:
                print(f"  ! retrying {label} in {RETRY_SECONDS:.0f}s", file=sys.stderr)
                time.sleep(RETRY_SECONDS)
        raise SystemExit(f"{label} failed twice; logs in {self.workdir / 'logs'}")

    def crawl(
        self,
        label: str,
        mirror: Mirror,
        archive: Path,
        body: str = "clean",
        *,
        pages: int | None = -1,
        fresh: bool = True,
        **options: Any,
    ) -> Run:
        """``scrapy crawl sina_finance`` of every article of ``mirror`` into ``archive`` (with
        ``pages=None``: catch-up mode, no ``-a pages``)."""
        args = ["crawl", "sina_finance", "-a", f"channels={CHANNELS}", "-a", f"num={NUM}"]
        if pages is not None:
            args += ["-a", f"pages={mirror.pages if pages < 0 else pages}"]
        settings = {"SINA_MIRROR": mirror.url, "ARCHIVE_DIR": archive, "ARCHIVE_BODY": body}
        settings.update(self.common_settings())
        run = self.run(label, args, settings, mirror, archive=archive, fresh=fresh, **options)
        if fresh and (run.articles, run.posts) != (mirror.articles, mirror.articles):
            note(f"{label}: {run.articles} articles served, {run.posts} posts written")
        return run

    def baseline(self, label: str, mirror: Mirror) -> Run:
        """The no-op spider over the same roll pages and articles, outside the project."""
        cwd = self.workdir / "baseline"  # no scrapy.cfg above it: no project settings
        cwd.mkdir(exist_ok=True)
        args = ["runspider", str(HERE / "baseline_spider.py"), "-a", f"mirror={mirror.url}"]
        args += ["-a", f"lists={LISTS}", "-a", f"pages={mirror.pages}", "-a", f"num={NUM}"]
        names = ("USER_AGENT", "DOWNLOAD_TIMEOUT", "DOWNLOAD_MAXSIZE", "RETRY_TIMES")
        settings: dict[str, Any] = {name: self.project[name] for name in names}
        settings["DEFAULT_REQUEST_HEADERS"] = json.dumps(
            dict(self.project.getdict("DEFAULT_REQUEST_HEADERS"))
        )
        settings["CONCURRENT_ITEMS"] = BASELINE_CONCURRENT_ITEMS
        settings["TELNETCONSOLE_ENABLED"] = False
        settings.update(self.common_settings())
        run = self.run(label, args, settings, mirror, cwd=cwd)
        if run.articles != mirror.articles:
            note(f"{label}: {run.articles} articles served, not {mirror.articles}")
        return run

    def figure(self, name: str, text: str, target: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else f"; target {target}: {'met' if met else 'MISSED'}"
        print(f"{name}: {text}{verdict}", flush=True)
        self.figures.append({"figure": name, "value": text, "target": target, "met": met})


def note(text: str) -> None:
    print(f"  # {text}", flush=True)


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def _spread(values: list[float]) -> str:
    return f" (median of {len(values)}: {min(values):.1f}-{max(values):.1f})" if values[1:] else ""


# --- the figures ------------------------------------------------------------------------------


def throughput(bench: Bench, n: int) -> dict[str, list[Run]]:
    """Baseline, clean and verbatim crawls of N articles, in turn, ``--repeat`` times."""
    mirror = bench.mirror(n)
    runs: dict[str, list[Run]] = {"baseline": [], "clean": [], "verbatim": []}
    for i in range(bench.args.repeat):
        runs["baseline"].append(bench.baseline(f"baseline-{n}-{i}", mirror))
        for body in ("clean", "verbatim"):
            archive = bench.workdir / f"archive-{body}"
            runs[body].append(bench.crawl(f"{body}-{n}-{i}", mirror, archive, body))
    rates = {kind: sorted(r.rate for r in found) for kind, found in runs.items()}
    base = _median(rates["baseline"])
    mirror_share = _median(r.served["cpu_seconds"] / r.tree.wall for r in runs["baseline"])
    bench.figure(
        "baseline",
        f"{base:.1f} articles/s{_spread(rates['baseline'])}, N={n} (the mirror kept "
        f"{100 * mirror_share:.0f}% of a core busy)",
    )
    for body in ("clean", "verbatim"):
        rate = _median(rates[body])
        bench.figure(
            f"{body} articles/s",
            f"{rate:.1f}{_spread(rates[body])} = {rate / base:.2f}x the baseline",
            f">= {TARGET_RATIO}x",
            rate / base >= TARGET_RATIO,
        )
    return runs


def cpu_slopes(bench: Bench, small: int, large: int) -> None:
    """CPU per article as the slope between a ``small`` and a ``large`` crawl, minus the
    baseline's slope: all processes (wait4), and the crawl process alone (the probe)."""
    mirrors = {small: bench.mirror(small), large: bench.mirror(large)}
    runs: dict[tuple[str, int], list[Run]] = {}
    for i in range(bench.args.repeat):
        for n, mirror in mirrors.items():
            runs.setdefault(("baseline", n), []).append(bench.baseline(f"baseline-{n}-{i}", mirror))
            for body in ("clean", "verbatim"):
                archive = bench.workdir / f"archive-{body}-{n}"
                run = bench.crawl(f"{body}-{n}-{i}", mirror, archive, body)
                runs.setdefault((body, n), []).append(run)

    def slope(kind: str, cpu: Callable[[Run], float]) -> float:
        """ms of CPU per extra article, medians of the runs at each size."""
        at = {n: _median(cpu(r) for r in runs[kind, n]) for n in (small, large)}
        articles = {n: _median(r.articles for r in runs[kind, n]) for n in (small, large)}
        return 1000 * (at[large] - at[small]) / (articles[large] - articles[small])

    base_all = slope("baseline", lambda r: r.tree.cpu)
    base_self = slope("baseline", lambda r: r.self_cpu)
    note(
        f"baseline: {base_all:.2f} ms of CPU per article, all processes "
        f"({base_self:.2f} in the crawl process), slope {small} -> {large}"
    )
    for body in ("clean", "verbatim"):
        every, own = slope(body, lambda r: r.tree.cpu), slope(body, lambda r: r.self_cpu)
        processes = max(r.processes for n in (small, large) for r in runs[body, n])
        bench.figure(
            f"{body} CPU, all processes",
            f"{every - base_all:.2f} ms/article ({every:.2f} - baseline {base_all:.2f}; "
            f"processes: {processes})",
            f"<= {TARGET_CPU_MS} ms",
            every - base_all <= TARGET_CPU_MS,
        )
        bench.figure(
            f"{body} CPU, crawl process",
            f"{own - base_self:.2f} ms/article ({own:.2f} - baseline {base_self:.2f}; the other "
            f"processes {every - own:.2f})",
            f"<= {TARGET_SELF_CPU_MS} ms",
            own - base_self <= TARGET_SELF_CPU_MS,
        )
        if processes > 1 and every - own < 0.05 * every:
            note(f"{body}: child processes ran but hardly any CPU of theirs was accounted")


def fill_index(archive: Path, rows: int) -> int:
    """Grow the archive's index (``.newsspider/index.sqlite3``, table ``articles``) to ``rows``
    rows with copies of its own rows, each with its own URL, docid and path and older times.
    Only rows, no posts. Returns how many were added."""
    db = sqlite3.connect(archive / ".newsspider" / "index.sqlite3")
    try:
        columns = [row[1] for row in db.execute("PRAGMA table_info(articles)")]
        existing = db.execute(f"SELECT {', '.join(columns)} FROM articles").fetchall()
        missing = rows - len(existing)

        def copy(k: int) -> list[Any]:
            values = dict(zip(columns, existing[k % len(existing)], strict=True))
            for name in ("url", "path"):
                stem, dot, ext = str(values[name]).rpartition(".")
                values[name] = f"{stem}-bench{k:06d}{dot}{ext}"
            if values.get("docid"):
                values["docid"] = f"{values['docid']}-bench{k:06d}"
            for name in ("intime", "mtime"):
                if isinstance(values.get(name), int):
                    values[name] -= 300 * (k + 1)
            return [values[c] for c in columns]

        marks = ", ".join("?" * len(columns))
        with db:
            db.executemany(
                f"INSERT INTO articles ({', '.join(columns)}) VALUES ({marks})",
                (copy(k) for k in range(max(0, missing))),
            )
        count = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    finally:
        db.close()
    if count != rows:
        raise SystemExit(f"the index holds {count} rows, not {rows}")
    return max(0, missing)


def incremental(bench: Bench, n: int, clean: Path) -> None:
    """Runs with nothing new over an index of ``--index-rows`` rows."""
    archive = bench.workdir / "archive-index"
    shutil.rmtree(archive, ignore_errors=True)
    shutil.copytree(clean, archive)
    added = fill_index(archive, bench.args.index_rows)
    note(f"index of {bench.args.index_rows} rows: the clean archive of {n} plus {added} copies")
    mirror, posts = bench.mirror(n), count_posts(archive)
    for label, pages, what in (
        ("incremental", -1, f"-a pages={mirror.pages}"),
        ("catch-up", None, "catch-up, no -a pages"),
    ):
        run = bench.crawl(label, mirror, archive, pages=pages, fresh=False)
        asked = run.probe["requests"]
        only_roll = asked["page"] == 0 and run.articles == 0 and run.posts == posts
        bench.figure(
            f"incremental, {bench.args.index_rows}-row index, {what}",
            f"{run.tree.wall:.2f}s, process start to exit (requests: {asked['roll']} "
            f"roll, {asked['page']} page, {asked['robots']} robots.txt; "
            f"{(run.posts or 0) - posts} new posts)",
            f"< {TARGET_INCREMENTAL_S:.0f}s with roll requests only",
            run.tree.wall < TARGET_INCREMENTAL_S and only_roll,
        )


def rss_growth(bench: Bench, n: int, at_n: list[Run]) -> None:
    """Peak RSS of the whole tree, clean crawls of N and of ``--scale`` x N."""
    bench.stop_mirrors()  # the large mirror is the biggest process here
    big = n * bench.args.scale
    run = bench.crawl(f"clean-{big}", bench.mirror(big), bench.workdir / "archive-scale")
    small = max(r.peak_rss_mb for r in at_n)
    own = max(int(r.probe["at_exit"]["self"]["maxrss_kb"]) for r in at_n) / 1024
    big_own = int(run.probe["at_exit"]["self"]["maxrss_kb"]) / 1024
    bench.figure(
        "peak RSS",
        f"{small:.0f} MB at N={n}, {run.peak_rss_mb:.0f} MB at {big} = "
        f"{run.peak_rss_mb / small:.2f}x, all {run.processes} processes (the crawl process "
        f"{own:.0f} and {big_own:.0f} MB)",
        f"flat (< {TARGET_RSS_GROWTH}x)",
        run.peak_rss_mb / small < TARGET_RSS_GROWTH,
    )


def profile(bench: Bench, kind: str, n: int) -> None:
    """One more clean crawl of N articles under a profiler."""
    mirror, archive = bench.mirror(n), bench.workdir / "archive-profile"
    if kind == "py-spy":
        spy = shutil.which("py-spy")
        if spy is None:
            raise SystemExit("--profile py-spy needs py-spy on the PATH (pip install py-spy)")
        out = bench.workdir / "profile.speedscope.json"
        prefix = [spy, "record", "--subprocesses", "-r", "200", "-f", "speedscope", "-o", str(out)]
        bench.crawl("profile", mirror, archive, prefix=[*prefix, "--"])
        note(f"py-spy profile of every process (open it in https://speedscope.app): {out}")
        return
    import pstats

    out = bench.workdir / "profile.pstats"
    bench.crawl(
        "profile", mirror, archive, python=["-m", "cProfile", "-o", str(out), "-m", "scrapy"]
    )
    note(f"cProfile of the crawl process (not its workers): {out}; by cumulative time:")
    pstats.Stats(str(out)).sort_stats("cumulative").print_stats("newsspider", 25)


# --- main -------------------------------------------------------------------------------------


def machine() -> list[str]:
    import scrapy

    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def git(*args: str) -> str:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout.strip()
        return "unknown"

    dirty = " plus uncommitted changes" if git("status", "--porcelain", "--", ".") else ""
    return [
        f"date     {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine  {model}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable)",
        f"software Python {platform.python_version()}, Scrapy {scrapy.__version__}",
        f"commit   {git('rev-parse', '--short', 'HEAD')}{dirty}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000, help="N of the throughput runs")
    parser.add_argument("--slope", default="500,1500", help="the two sizes of the CPU slope")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind; medians")
    parser.add_argument("--quick", action="store_true", help="--articles 200 --slope 100,300")
    parser.add_argument("--index-rows", type=int, default=100_000)
    parser.add_argument("--scale", type=int, default=4, help="the RSS run crawls scale x N")
    parser.add_argument("--skip", default="", help="comma-separated: cpu, rss")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="for every run"
    )
    parser.add_argument("--profile", choices=("py-spy", "cprofile"))
    parser.add_argument("--workdir", type=Path, help="keep archives, logs and probes here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.articles, args.slope = 200, "100,300"
    small, large = (int(v) for v in args.slope.split(","))
    skip = set(args.skip.split(","))
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="newsspider-bench-"))).resolve()
    for sub in ("logs", "runs"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    from scrapy.utils.conf import closest_scrapy_cfg
    from scrapy.utils.project import get_project_settings

    if closest_scrapy_cfg(str(workdir)):
        raise SystemExit(f"{workdir} is inside a Scrapy project: the baseline would use it")
    with contextlib.chdir(REPO):
        project = get_project_settings()
    bench, ok = Bench(args, workdir, project), False
    print(f"newsspider crawl benchmark, work dir {workdir}", flush=True)
    for line in machine():
        print(f"  {line}", flush=True)
    if not become_subreaper():
        note("not a child subreaper: CPU of processes that outlive a crawl is not counted")
    try:
        runs = throughput(bench, args.articles)
        if "cpu" not in skip:
            cpu_slopes(bench, small, large)
        incremental(bench, args.articles, workdir / "archive-clean")
        if "rss" not in skip:
            rss_growth(bench, args.articles, runs["clean"])
        if args.profile:
            profile(bench, args.profile, args.articles)
        ok = True
    finally:
        bench.stop_mirrors()
        if args.json:
            args.json.write_text(json.dumps({"machine": machine(), "figures": bench.figures}))
        if ok and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not ok:
            print(f"  work dir kept: {workdir}", file=sys.stderr)
    print("\n| figure | measured | target | |\n| --- | --- | --- | --- |")
    for f in bench.figures:
        verdict = {None: "", True: "met", False: "**missed**"}[f["met"]]
        print(f"| {f['figure']} | {f['value']} | {f['target']} | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
