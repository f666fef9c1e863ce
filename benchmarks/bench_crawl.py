"""Crawl benchmark: newsspider against a plain Scrapy spider over a synthetic Sina mirror.

    python benchmarks/bench_crawl.py                 # 2,000 articles (a few minutes on 2 cores)
    python benchmarks/bench_crawl.py --articles 500
    python benchmarks/bench_crawl.py --quick         # 300 articles, a smoke test

Steps (``benchmarks/README.md`` explains every figure):

1. builds a mirror of N articles from the golden pages and serves it from a separate process
   (``benchmarks/mirror_server.py``), and checks the server alone with a concurrent client;
2. runs the baseline, a no-op Scrapy spider over the same roll pages and articles
   (``benchmarks/baseline_spider.py``);
3. runs ``scrapy crawl sina_finance`` into a fresh temp archive in clean and in verbatim mode;
4. reruns it on the clean archive (0 new articles), with the same arguments and in catch-up mode
   (no ``-a pages``);
5. the same against an index of 100,000 entries (the clean archive plus synthetic rows);
6. the clean crawl again over a 4×N mirror, for the peak RSS at 4×N.

Every crawl runs under ``benchmarks/probe.py``, which records Scrapy's stats, CPU, peak RSS and,
for full crawls, newsspider's own CPU per article. One line is printed per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import mirror_server  # noqa: E402  (benchmarks/ is not a package)

PROBE = HERE / "probe.py"
BASELINE = HERE / "baseline_spider.py"
NUM = 50
DEFAULT_ARTICLES = 2000
QUICK_ARTICLES = 300
INDEX_ROWS = 100_000
PYSPY_RATE = 200  # samples per second
RETRY_WAIT = 20.0  # seconds before retrying a crawl that failed (the code may be mid-edit)

# Targets of issue 6 (measured, never asserted).
TARGET_RATIO = 0.8
TARGET_OWN_CPU_MS = 1.0
TARGET_INCREMENTAL_S = 10.0
TARGET_RSS_MB = 250.0


@dataclass
class Run:
    """One Scrapy run under the probe, and what the mirror saw of it."""

    label: str
    returncode: int
    wall: float  # seconds, process start to exit, measured from outside
    probe: dict[str, Any]
    server: dict[str, float]  # deltas of the mirror's counters (requests, roll, article, cpu)
    log: Path
    machine_busy: float = 0.0  # CPU seconds the whole machine was busy during the run
    process_cpu: float = 0.0  # CPU seconds of the run's process tree, as its parent saw it

    @property
    def other_load(self) -> float:
        """Cores used on average by processes other than this run and the mirror."""
        other = self.machine_busy - self.process_cpu - self.server.get("cpu_seconds", 0.0)
        return max(0.0, other) / self.wall if self.wall else 0.0

    @property
    def stats(self) -> dict[str, Any]:
        return dict(self.probe.get("stats") or {})

    @property
    def elapsed(self) -> float:
        """Engine time: spider opened to spider closed (Scrapy's ``elapsed_time_seconds``)."""
        return float(self.stats.get("elapsed_time_seconds") or self.wall)

    @property
    def articles(self) -> int:
        return int(self.server.get("article", 0))

    @property
    def rate(self) -> float:
        return self.articles / self.elapsed if self.elapsed else 0.0

    @property
    def rss_mb(self) -> float:
        return max(float(self.probe.get("maxrss_kb_self", 0)), 0.0) / 1024

    @property
    def worker_rss_mb(self) -> float:
        return max(float(self.probe.get("worker_peak_rss_kb", 0)), 0.0) / 1024

    @property
    def total_rss_mb(self) -> float:
        """The crawl process plus its worker processes at their peaks."""
        return self.rss_mb + int(self.probe.get("workers") or 0) * self.worker_rss_mb

    def crawl_cpu(self) -> float:
        """CPU seconds of the process and its reaped children between engine open and close."""
        own, children = self.crawl_cpu_parts()
        return own + children

    def crawl_cpu_parts(self) -> tuple[float, float]:
        """CPU seconds between engine open and close: (the crawl process, its reaped children:
        the worker processes, which the crawl reaps before the engine closes)."""
        start, end = self.probe.get("at_open"), self.probe.get("at_close")
        if not start or not end:
            return float(self.probe.get("cpu_self", 0)), float(self.probe.get("cpu_children", 0))
        return (
            float(end["cpu_self"] - start["cpu_self"]),
            float(end["cpu_children"] - start["cpu_children"]),
        )

    def gc_seconds(self) -> float:
        """Seconds the crawl process spent in Python's garbage collector, engine open to close."""
        start, end = self.probe.get("at_open") or {}, self.probe.get("at_close") or {}
        return float(end.get("gc_seconds", 0.0) - start.get("gc_seconds", 0.0))

    def own_cpu_ms(self) -> list[float]:
        return sorted(s[0] * 1000 for s in self.probe.get("article_cpu_wall", []))

    def own_wall_ms(self) -> list[float]:
        return sorted(s[1] * 1000 for s in self.probe.get("article_cpu_wall", []))


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    figures: list[dict[str, Any]] = field(default_factory=list)
    server: subprocess.Popen[bytes] | None = None
    server_url: str = ""
    server_log: Path | None = None

    # --- output -------------------------------------------------------------------------------

    def line(self, key: str, text: str, **values: Any) -> None:
        print(text, flush=True)
        self.figures.append({"figure": key, "line": text, **values})

    def note(self, text: str) -> None:
        print(f"  # {text}", flush=True)

    # --- mirror -------------------------------------------------------------------------------

    def start_server(self, articles: int) -> None:
        self.stop_server()
        ready = self.workdir / f"server-{articles}.ready"
        ready.unlink(missing_ok=True)
        self.server_log = self.workdir / "logs" / f"server-{articles}.log"
        command = [
            sys.executable,
            str(HERE / "mirror_server.py"),
            "--articles",
            str(articles),
            "--port",
            "0",
            "--ready-file",
            str(ready),
        ]
        with open(self.server_log, "wb") as log:
            self.server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120 + articles / 100
        while not ready.exists():
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the mirror did not start; see {self.server_log}")
            time.sleep(0.05)
        fields = ready.read_text(encoding="utf-8").split()
        self.server_url = fields[1]

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
            self.server = None

    def server_counters(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.server_url}/__stats__", timeout=10) as answer:
            return dict(json.loads(answer.read()))

    # --- runs ---------------------------------------------------------------------------------

    def common_settings(self) -> list[str]:
        """The settings every run gets, baseline and crawls alike (see the README)."""
        from newsspider import settings as project

        c = self.args.concurrency
        settings = {
            "CONCURRENT_REQUESTS": c,
            "CONCURRENT_REQUESTS_PER_DOMAIN": c,
            "CONCURRENT_ITEMS": project.CONCURRENT_ITEMS,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "ROBOTSTXT_OBEY": self.args.robots,
            "LOG_LEVEL": "INFO",
        }
        for extra in self.args.set:
            name, _, value = extra.partition("=")
            settings[name.strip()] = value.strip()
        return [arg for k, v in settings.items() for arg in ("-s", f"{k}={v}")]

    def probe(
        self,
        label: str,
        scrapy_args: Sequence[str],
        *,
        cwd: Path,
        instrument: bool = False,
        extra: Sequence[str] = (),
        retries: int = 1,
        before_retry: Any = None,
        prefix: Sequence[str] = (),
    ) -> Run:
        for attempt in range(retries + 1):
            out = self.workdir / f"{label}.json"
            log = self.workdir / "logs" / f"{label}.log"
            options = [str(out), *(["--instrument"] if instrument else []), *extra]
            command = [sys.executable, str(PROBE), *options, "--", *scrapy_args]
            env = {
                k: v
                for k, v in os.environ.items()
                if k not in ("SCRAPY_SETTINGS_MODULE", "SCRAPY_PROJECT")
            }
            before = self.server_counters()
            busy_before = machine_busy_seconds()
            cpu_before = children_cpu_seconds()
            started = time.perf_counter()
            with open(log, "wb") as handle:
                done = subprocess.run(
                    [*prefix, *command], cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, env=env
                )
            wall = time.perf_counter() - started
            busy = machine_busy_seconds() - busy_before
            process_cpu = children_cpu_seconds() - cpu_before
            after = self.server_counters()
            server = {k: after[k] - before[k] for k in ("requests", "roll", "article", "404")}
            server["cpu_seconds"] = after["cpu_seconds"] - before["cpu_seconds"]
            server["connections"] = after["connections"] - before["connections"] - 1
            data = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
            run = Run(label, done.returncode, wall, data, server, log, busy, process_cpu)
            if done.returncode == 0 and data.get("stats"):
                if run.other_load > 0.15:
                    self.note(
                        f"{label}: other processes kept {run.other_load:.2f} cores busy during "
                        "this run; its figures may be low"
                    )
                return run
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            print(f"  ! {label} exited {done.returncode}; log {log}:", file=sys.stderr)
            for text in tail:
                print(f"  ! {text}", file=sys.stderr)
            if attempt < retries:
                print(f"  ! retrying {label} in {RETRY_WAIT:.0f}s", file=sys.stderr, flush=True)
                time.sleep(RETRY_WAIT)
                if before_retry is not None:
                    before_retry()
        raise SystemExit(f"{label} failed; logs kept in {self.workdir}")

    def crawl_args(self, archive: Path, pages: int | None, body: str = "clean") -> list[str]:
        names = ",".join(c.name for c in mirror_server.DEFAULT_CHANNELS)
        args = [
            "crawl",
            "sina_finance",
            "-s",
            f"SINA_MIRROR={self.server_url}",
            "-s",
            f"ARCHIVE_DIR={archive}",
            "-s",
            f"ARCHIVE_BODY={body}",
            "-a",
            f"channels={names}",
            "-a",
            f"num={NUM}",
            *self.common_settings(),
        ]
        if pages is not None:
            args += ["-a", f"pages={pages}"]
        return args

    def full_crawl(self, label: str, archive: Path, pages: int, body: str) -> Run:
        def fresh() -> None:
            shutil.rmtree(archive, ignore_errors=True)

        fresh()
        return self.probe(
            label,
            self.crawl_args(archive, pages, body),
            cwd=REPO,
            instrument=True,
            before_retry=fresh,
        )

    def baseline(self, pages: int, label: str = "baseline") -> Run:
        lists = ",".join(f"{c.pageid}:{c.lid}" for c in mirror_server.DEFAULT_CHANNELS)
        cwd = self.workdir / "baseline-cwd"  # no scrapy.cfg above it: no project settings
        cwd.mkdir(exist_ok=True)
        from newsspider import settings as project

        settings = {
            "USER_AGENT": project.USER_AGENT,
            "DEFAULT_REQUEST_HEADERS": json.dumps(project.DEFAULT_REQUEST_HEADERS),
            "DOWNLOAD_TIMEOUT": project.DOWNLOAD_TIMEOUT,
            "DOWNLOAD_MAXSIZE": project.DOWNLOAD_MAXSIZE,
            "RETRY_TIMES": project.RETRY_TIMES,
            "TELNETCONSOLE_ENABLED": False,
        }
        args = [
            "runspider",
            str(BASELINE),
            "-a",
            f"mirror={self.server_url}",
            "-a",
            f"lists={lists}",
            "-a",
            f"pages={pages}",
            "-a",
            f"num={NUM}",
            *self.common_settings(),
            *[arg for k, v in settings.items() for arg in ("-s", f"{k}={v}")],
        ]
        return self.probe(label, args, cwd=cwd)

    # --- server check -------------------------------------------------------------------------

    def check_server(self, urls: list[str], connections: int) -> tuple[float, float, float]:
        """Fetch ``urls`` from the mirror over ``connections`` keep-alive connections with a
        small asyncio client; return (responses/s, MB/s, server CPU ms per request)."""
        host, port = self.server_url.removeprefix("http://").split(":")
        targets = ["/" + url.removeprefix("https://") for url in urls]
        before = self.server_counters()

        async def worker(queue: list[str], sizes: list[int]) -> None:
            reader, writer = await asyncio.open_connection(host, int(port))
            while queue:
                target = queue.pop()
                writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"mirror answered {head.splitlines()[0]!r} for {target}")
                sizes.append(len(body))
            writer.close()
            await writer.wait_closed()

        async def run() -> tuple[float, int]:
            queue = list(targets)
            sizes: list[int] = []
            started = time.perf_counter()
            await asyncio.gather(*(worker(queue, sizes) for _ in range(connections)))
            return time.perf_counter() - started, sum(sizes)

        seconds, total = asyncio.run(run())
        after = self.server_counters()
        cpu_ms = (after["cpu_seconds"] - before["cpu_seconds"]) * 1000 / max(1, len(targets))
        return len(targets) / seconds, total / seconds / 1e6, cpu_ms


# --- index ------------------------------------------------------------------------------------


def fill_index(archive: Path, rows: int) -> tuple[int, float]:
    """Add synthetic rows to the archive's index until it holds ``rows``; (added, seconds)."""
    from newsspider.archive.index import LIVE, ArchiveIndex, IndexRow, now_iso

    started = time.perf_counter()
    index = ArchiveIndex(archive, batch_size=5000, batch_seconds=3600)
    try:
        missing = rows - index.count()
        names = [c.name for c in mirror_server.DEFAULT_CHANNELS]
        stamp = now_iso()
        base = 1546300800  # 2019-01-01
        for i in range(max(0, missing)):
            day = time.strftime("%Y-%m-%d", time.gmtime(base + i * 300))
            doc = f"y{i:013d}"
            index.put(
                IndexRow(
                    url=f"https://finance.sina.com.cn/roll/{day}/doc-i{doc}.shtml",
                    docid=f"comos:{doc}",
                    channel=names[i % len(names)],
                    path=f"金融/新浪财经/新浪财经－国內/bench-{i:06d}.md",
                    sha256=f"{i:064x}",
                    title=f"合成条目 {i}",
                    intime=base + i * 300,
                    mtime=base + i * 300,
                    etag=None,
                    last_modified=None,
                    first_archived=stamp,
                    last_checked=stamp,
                    status=LIVE,
                )
            )
        index.commit()
        count = index.count()
    finally:
        index.close()
    if count < rows:
        raise SystemExit(f"the index holds {count} rows, not {rows}")
    return max(0, missing), time.perf_counter() - started


# --- figures ----------------------------------------------------------------------------------


def machine_busy_seconds() -> float:
    """CPU seconds all cores have been busy since boot (Linux ``/proc/stat``), or 0."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(v) for v in fields[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[rank]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def environment() -> Iterator[str]:
    import scrapy

    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    yield f"date {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
    yield f"cores {os.cpu_count()} (nproc {len(os.sched_getaffinity(0))})"
    yield f"python {platform.python_version()}, scrapy {scrapy.__version__}"
    yield f"commit {commit} (plus any uncommitted changes)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--articles", type=int, default=DEFAULT_ARTICLES, help="N (2000)")
    parser.add_argument("--quick", action="store_true", help=f"N = {QUICK_ARTICLES}")
    parser.add_argument("--scale", type=int, default=4, help="the RSS run uses scale×N (4)")
    parser.add_argument("--index-rows", type=int, default=INDEX_ROWS, help="(100000)")
    from newsspider import settings as project

    parser.add_argument(
        "--concurrency",
        type=int,
        default=project.CONCURRENT_REQUESTS,
        help="CONCURRENT_REQUESTS and _PER_DOMAIN of every run (the project's "
        f"CONCURRENT_REQUESTS, {project.CONCURRENT_REQUESTS})",
    )
    parser.add_argument(
        "--robots",
        type=lambda v: v.lower() in ("1", "true", "yes"),
        default=project.ROBOTSTXT_OBEY,
        help=f"ROBOTSTXT_OBEY of every run (the project's, {project.ROBOTSTXT_OBEY})",
    )
    parser.add_argument("--skip-scale", action="store_true", help="no scale×N run")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one more setting for the baseline and every crawl (repeatable), e.g. "
        "WORKER_PROCESSES=0 or CONCURRENT_ITEMS=100",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the baseline and the full crawls this many times; report the median (1)",
    )
    parser.add_argument(
        "--profile",
        choices=("py-spy", "pyinstrument", "cprofile"),
        help="also profile one clean crawl of N articles and print newsspider's hot spots",
    )
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.articles = QUICK_ARTICLES
    n = args.articles
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="newsspider-bench-"))
    workdir = workdir.resolve()
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    bench = Bench(args, workdir)
    channels = len(mirror_server.DEFAULT_CHANNELS)
    pages = mirror_server.roll_pages(n, channels, NUM)
    ok = False
    try:
        print(
            f"newsspider crawl benchmark: N={n} articles, {channels} channels x {pages} roll "
            f"pages of {NUM}; concurrency {args.concurrency}, ROBOTSTXT_OBEY={args.robots}",
            flush=True,
        )
        for text in environment():
            print(f"  {text}", flush=True)
        if args.set:
            print(f"  extra settings: {' '.join(args.set)}", flush=True)
        print(f"  work dir {workdir}", flush=True)

        started = time.perf_counter()
        bench.start_server(n)
        bench.note(f"mirror of {n} articles ready in {time.perf_counter() - started:.1f}s")
        urls = [a.url for a in mirror_server.plan(n)]
        sizes = _page_sizes(bench, urls[: min(len(urls), 50)])
        bench.note(
            f"article pages: mean {statistics.mean(sizes) / 1024:.1f} KB, "
            f"{min(sizes) / 1024:.1f}-{max(sizes) / 1024:.1f} KB"
        )
        rate, mbps, cpu_ms = bench.check_server(urls * max(1, 4000 // n), args.concurrency)
        bench.line(
            "server",
            f"server alone ({args.concurrency} keep-alive connections, asyncio client): "
            f"{rate:.0f} articles/s, {mbps:.0f} MB/s; server CPU {cpu_ms:.3f} ms/request",
            articles_per_s=rate,
            mb_per_s=mbps,
            server_cpu_ms_per_request=cpu_ms,
        )

        base, base_rates = _median_run(
            [bench.baseline(pages, _nth("baseline", i)) for i in range(args.repeat)]
        )
        _check_articles(bench, base, n)
        bench.line(
            "baseline",
            f"baseline (no-op Scrapy spider): {base.rate:.1f} articles/s{_spread(base_rates)} "
            f"({base.articles} in {base.elapsed:.2f}s, {base.server['connections']:.0f} "
            "connections; server busy "
            f"{100 * base.server['cpu_seconds'] / base.elapsed:.0f}% of a core)",
            articles_per_s=base.rate,
            seconds=base.elapsed,
        )

        runs: dict[str, Run] = {}
        for body in ("clean", "verbatim"):
            run, rates = _median_run(
                [
                    bench.full_crawl(_nth(body, i), workdir / f"archive-{body}", pages, body)
                    for i in range(args.repeat)
                ]
            )
            _check_articles(bench, run, n)
            runs[body] = run
            ratio = run.rate / base.rate if base.rate else float("nan")
            bench.line(
                f"{body}/rate",
                f"{body}: {run.rate:.1f} articles/s{_spread(rates)} = {ratio:.2f}x baseline "
                f"({run.articles} in {run.elapsed:.2f}s; target >= {TARGET_RATIO}x: "
                f"{verdict(ratio >= TARGET_RATIO)}; server busy "
                f"{100 * run.server['cpu_seconds'] / run.elapsed:.0f}% of a core)",
                articles_per_s=run.rate,
                ratio=ratio,
                seconds=run.elapsed,
            )
        for body, run in runs.items():
            cpu = run.own_cpu_ms()
            wall = run.own_wall_ms()
            median = statistics.median(cpu) if cpu else float("nan")
            wall_median = statistics.median(wall) if wall else float("nan")
            bench.line(
                f"{body}/own_cpu",
                f"{body}: newsspider's own CPU {median:.2f} ms/article median, "
                f"{percentile(cpu, 0.95):.2f} ms p95 (wall in its code {wall_median:.2f}"
                f" median, {percentile(wall, 0.95):.2f} p95; n={len(cpu)}; target median <= "
                f"{TARGET_OWN_CPU_MS} ms: {verdict(median <= TARGET_OWN_CPU_MS)})",
                median_ms=median,
                p95_ms=percentile(cpu, 0.95),
                wall_median_ms=wall_median,
                wall_p95_ms=percentile(wall, 0.95),
            )
        for body, run in runs.items():
            parts = run.probe.get("components", {})
            bench.note(
                f"{body} breakdown, CPU ms per call: "
                + ", ".join(
                    f"{name} {1000 * part['cpu'] / max(1, part['calls']):.2f}"
                    + (
                        f" (wall {1000 * part['wall'] / max(1, part['calls']):.2f})"
                        if part["wall"] > 1.3 * part["cpu"] + 0.05
                        else ""
                    )
                    for name, part in parts.items()
                    if part["calls"]
                )
            )
        base_cpu = base.crawl_cpu() / max(1, base.articles) * 1000
        for body, run in runs.items():
            process_ms = run.crawl_cpu() / max(1, run.articles) * 1000
            own, workers = (x / max(1, run.articles) * 1000 for x in run.crawl_cpu_parts())
            gc_ms = run.gc_seconds() / max(1, run.articles) * 1000
            base_gc = base.gc_seconds() / max(1, base.articles) * 1000
            bench.line(
                f"{body}/process_cpu",
                f"{body}: whole-process CPU {process_ms:.2f} ms/article vs baseline "
                f"{base_cpu:.2f} (+{process_ms - base_cpu:.2f} ms/article; crawl process "
                f"{own:.2f}, worker processes {workers:.2f}; engine start to close, all threads; "
                "garbage collection "
                f"{gc_ms:.2f} vs baseline {base_gc:.2f})",
                ms_per_article=process_ms,
                crawl_process_ms_per_article=own,
                workers_ms_per_article=workers,
                gc_ms_per_article=gc_ms,
                baseline_ms_per_article=base_cpu,
            )

        clean = workdir / "archive-clean"
        bench.line(
            "rss/N",
            f"peak RSS clean crawl at N={n}: {runs['clean'].rss_mb:.0f} MB"
            + _children_note(runs["clean"])
            + f", {runs['clean'].total_rss_mb:.0f} MB in all (baseline {base.rss_mb:.0f} MB)",
            mb=runs["clean"].rss_mb,
            workers_mb=runs["clean"].worker_rss_mb,
            total_mb=runs["clean"].total_rss_mb,
        )

        incremental = [
            ("incremental", clean, pages, f"on the clean archive ({n} indexed), same args"),
            ("incremental_catchup", clean, None, "on the clean archive, catch-up (no -a pages)"),
        ]
        big = workdir / "archive-index"
        for label, archive, run_pages, what in incremental:
            _incremental(bench, label, archive, run_pages, what)
        shutil.copytree(clean, big)
        added, seconds = fill_index(big, args.index_rows)
        bench.note(
            f"index of {args.index_rows} rows: the clean archive plus {added} synthetic rows, "
            f"written with ArchiveIndex.put in {seconds:.1f}s"
        )
        _incremental(
            bench,
            "index100k",
            big,
            pages,
            f"with a {args.index_rows}-entry index, same args",
        )
        _incremental(
            bench,
            "index100k_catchup",
            big,
            None,
            f"with a {args.index_rows}-entry index, catch-up (no -a pages)",
        )

        if not args.skip_scale and args.scale > 1:
            big_n = n * args.scale
            started = time.perf_counter()
            bench.start_server(big_n)
            bench.note(f"mirror of {big_n} articles ready in {time.perf_counter() - started:.1f}s")
            big_pages = mirror_server.roll_pages(big_n, channels, NUM)
            run = bench.full_crawl("clean-scale", workdir / "archive-scale", big_pages, "clean")
            _check_articles(bench, run, big_n)
            rss_n, rss_big = runs["clean"].total_rss_mb, run.total_rss_mb
            growth = rss_big / rss_n if rss_n else float("nan")
            bench.line(
                "rss/scale",
                f"peak RSS clean crawl at {args.scale}xN={big_n}: {run.rss_mb:.0f} MB"
                + _children_note(run)
                + f", {rss_big:.0f} MB in all = {growth:.2f}x the N run (target roughly flat and "
                f"< {TARGET_RSS_MB:.0f} MB: "
                f"{verdict(growth < 1.25 and max(rss_n, rss_big) < TARGET_RSS_MB)}); "
                f"{run.rate:.1f} articles/s",
                mb=run.rss_mb,
                total_mb=rss_big,
                growth=growth,
                articles_per_s=run.rate,
            )

        if args.profile:
            if args.scale > 1 and not args.skip_scale:
                bench.start_server(n)
            _profile(bench, args.profile, pages)
        ok = True
    finally:
        bench.stop_server()
        if args.json:
            args.json.write_text(json.dumps(bench.figures, indent=1, ensure_ascii=False) + "\n")
        if ok and not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not ok or args.keep:
            print(f"  work dir kept: {workdir}", flush=True)
    return 0


def _nth(label: str, i: int) -> str:
    return label if i == 0 else f"{label}-{i + 1}"


def _median_run(runs: list[Run]) -> tuple[Run, list[float]]:
    """The run with the median rate (the lower middle one for an even count), and all rates."""
    ordered = sorted(runs, key=lambda r: r.rate)
    return ordered[(len(ordered) - 1) // 2], [r.rate for r in ordered]


def _spread(rates: list[float]) -> str:
    if len(rates) < 2:
        return ""
    return f" (median of {len(rates)}: {min(rates):.1f}-{max(rates):.1f})"


def _page_sizes(bench: Bench, urls: list[str]) -> list[int]:
    sizes = []
    for url in urls:
        target = f"{bench.server_url}/{url.removeprefix('https://')}"
        with urllib.request.urlopen(target, timeout=10) as answer:
            sizes.append(len(answer.read()))
    return sizes


def _children_note(run: Run) -> str:
    """The crawl's worker processes, when it started some: how many, the largest one's peak RSS
    (``VmHWM`` read just before the pool closed) and their CPU."""
    start, end = run.probe.get("at_open"), run.probe.get("at_close")
    busy = end["cpu_children"] - start["cpu_children"] if start and end else 0.0
    workers = int(run.probe.get("workers") or 0)
    if not workers:
        return ""
    return (
        f" + {workers} worker process(es) of at most {run.worker_rss_mb:.0f} MB each"
        f" ({busy:.1f}s CPU)"
    )


def _check_articles(bench: Bench, run: Run, expected: int) -> None:
    if run.articles != expected:
        bench.note(f"{run.label}: the mirror served {run.articles} articles, not {expected}")
    written = run.stats.get("archive/written")
    if not run.label.startswith("baseline") and written != expected:
        bench.note(f"{run.label}: archive/written is {written}, not {expected}")


def _incremental(bench: Bench, label: str, archive: Path, pages: int | None, what: str) -> Run:
    run = bench.probe(label, bench.crawl_args(archive, pages), cwd=REPO)
    other = run.server["requests"] - run.server["roll"] - run.server["article"]
    only_roll = run.server["article"] == 0
    new = run.stats.get("archive/new", 0)
    bench.line(
        label,
        f"incremental {what}: {int(run.server['requests'])} requests ({int(run.server['roll'])} "
        f"roll, {int(run.server['article'])} article, {int(other)} other), {new} new; wall "
        f"{run.wall:.2f}s (engine {run.elapsed:.2f}s; target < {TARGET_INCREMENTAL_S:.0f}s "
        f"with only roll requests: {verdict(run.wall < TARGET_INCREMENTAL_S and only_roll)}; "
        f"peak RSS {run.rss_mb:.0f} MB)",
        requests=run.server["requests"],
        roll=run.server["roll"],
        article=run.server["article"],
        wall=run.wall,
        engine=run.elapsed,
        rss_mb=run.rss_mb,
    )
    return run


def _profile(bench: Bench, kind: str, pages: int) -> None:
    """One more clean crawl of N articles under a profiler; newsspider's hot spots printed."""
    archive = bench.workdir / "archive-profile"
    shutil.rmtree(archive, ignore_errors=True)
    args = bench.crawl_args(archive, pages)
    if kind == "py-spy":
        spy = shutil.which("py-spy")
        if spy is None:
            raise SystemExit("--profile py-spy needs py-spy (pip install py-spy)")
        out = bench.workdir / "profile-clean.pyspy.txt"
        prefix = [spy, "record", "--subprocesses", "-r", str(PYSPY_RATE), "-f", "raw"]
        prefix += ["-o", str(out), "--"]
        run = bench.probe("profile", args, cwd=REPO, prefix=prefix)
        import hotspots

        total, tables = hotspots.analyse(out, 12)
        bench.note(
            f"py-spy profile of a clean crawl ({run.articles} articles, {run.rate:.1f}/s under "
            f"the profiler) in {out}: ms per article of the crawl process and its workers"
        )
        for title in ("entry", "innermost newsspider"):
            bench.note(f"by {title}:")
            for name, count in tables[title].most_common(12):
                ms = 1000 * count / PYSPY_RATE / max(1, run.articles)
                bench.note(f"  {ms:6.2f}  {100 * count / total:5.1f}%  {name}")
        return
    if kind == "pyinstrument":
        out = bench.workdir / "profile-clean.pyinstrument.txt"
        run = bench.probe("profile", args, cwd=REPO, extra=["--profile", str(out)])
        bench.note(f"pyinstrument profile of a clean crawl ({run.articles} articles) in {out}")
        return
    out = bench.workdir / "profile-clean.pstats"
    run = bench.probe("profile", args, cwd=REPO, extra=["--cprofile", str(out)])
    bench.note(f"cProfile of a clean crawl ({run.articles} articles) in {out}")
    stats = pstats.Stats(str(out))
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "/newsspider/" in filename and not filename.endswith("commands/crawl.py"):
            short = filename.split("/newsspider/", 1)[1]
            rows.append((cumtime, tottime, calls, f"newsspider/{short}:{line}({name})"))
    rows.sort(reverse=True)
    articles = max(1, run.articles)
    bench.note("newsspider functions by cumulative time (cProfile, ms per article):")
    for cumtime, tottime, calls, where in rows[:25]:
        bench.note(
            f"  {1000 * cumtime / articles:7.2f} cum {1000 * tottime / articles:7.2f} own "
            f"{calls:8d} calls  {where}"
        )


if __name__ == "__main__":
    sys.exit(main())
