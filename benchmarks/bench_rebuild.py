"""``scrapy rebuild`` speed: a crawl of N synthetic articles with ``ARCHIVE_WARC`` on (and, to
compare, one with it off), then ``scrapy rebuild --all`` twice: once rewriting every post (the
crawl was verbatim, the rebuild clean) and once finding nothing to change.

    python benchmarks/bench_rebuild.py                 # N = 2000
    python benchmarks/bench_rebuild.py --articles 500 --set WORKER_PROCESSES=2

Each figure is articles per second over the run's own ``elapsed_time_seconds`` (Scrapy's stat:
spider opened to closed), and CPU seconds per article of the whole process tree (the crawl and
its worker processes, from the operating system's accounting of reaped children). It only
measures; no figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_crawl import CHANNELS, NUM, Mirror  # noqa: E402  (benchmarks/ is not a package)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def scrapy(
    workdir: Path, label: str, args: list[str], settings: dict[str, Any]
) -> tuple[dict[str, Any], float, float]:
    """Run ``scrapy ARGS``; its run report's stats, its wall time and its tree's CPU."""
    command = [sys.executable, "-m", "scrapy", *args]
    command += [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
    env["PYTHONPATH"] = str(REPO)
    log = workdir / f"{label}.log"
    cpu, started = children_cpu(), time.perf_counter()
    with open(log, "wb") as out:
        code = subprocess.run(command, cwd=REPO, env=env, stdout=out, stderr=out).returncode
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"{label} exited {code}:\n" + "\n".join(tail))
    archive = Path(settings["ARCHIVE_DIR"])
    report = sorted((archive / ".newsspider" / "runs").glob("*.json"))[-1]
    return dict(json.loads(report.read_text())["stats"]), wall, cpu


def figure(label: str, stats: dict[str, Any], count: int, wall: float, cpu: float) -> None:
    seconds = float(stats["elapsed_time_seconds"])
    written = stats.get("archive/written", 0)
    unchanged = stats.get("archive/unchanged", 0)
    print(
        f"{label:28} {count / seconds:7.1f} articles/s  ({count} in {seconds:.1f} s; process"
        f" {wall:.1f} s), {cpu * 1e3 / count:5.1f} ms CPU/article; written {written},"
        f" unchanged {unchanged}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--workdir", type=Path, help="keep the archives and logs here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-rebuild-"))
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    extra = dict(s.split("=", 1) for s in args.set)
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, {platform.machine()}")
    try:
        load = os.getloadavg()[0]
        print(f"# load average at start: {load:.2f}")
    except OSError:
        pass
    mirror = Mirror(args.articles, workdir)
    try:
        n = args.articles
        crawl = ["crawl", "sina_finance", "-a", f"channels={CHANNELS}", "-a", f"num={NUM}"]
        crawl += ["-a", f"pages={mirror.pages}"]
        common = {
            "SINA_MIRROR": mirror.url,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "LOG_LEVEL": "INFO",
            **extra,
        }
        plain, captured = workdir / "plain", workdir / "captured"
        for folder in (plain, captured):
            shutil.rmtree(folder, ignore_errors=True)
        settings = {**common, "ARCHIVE_DIR": plain, "ARCHIVE_BODY": "verbatim"}
        stats, wall, cpu = scrapy(workdir / "logs", "crawl-plain", crawl, settings)
        figure("crawl, ARCHIVE_WARC off", stats, n, wall, cpu)
        settings = {**settings, "ARCHIVE_DIR": captured, "ARCHIVE_WARC": True}
        stats, wall, cpu = scrapy(workdir / "logs", "crawl-captured", crawl, settings)
        figure("crawl, ARCHIVE_WARC on", stats, n, wall, cpu)
        size = sum(p.stat().st_size for p in (captured / ".newsspider" / "warc").glob("*.gz"))
        print(f"{'':28} WARC: {size / 1e6:.1f} MB, {size / n / 1024:.1f} KB/article")
        # The mirror stays up but is never asked: a rebuild makes no request.
        rebuild = ["rebuild", "--all"]
        closed = {**common, "SINA_MIRROR": "http://127.0.0.1:9", "ARCHIVE_DIR": captured}
        stats, wall, cpu = scrapy(workdir / "logs", "rebuild-clean", rebuild, closed)
        figure("rebuild --all (rewrites all)", stats, n, wall, cpu)
        stats, wall, cpu = scrapy(workdir / "logs", "rebuild-again", rebuild, closed)
        figure("rebuild --all (nothing new)", stats, n, wall, cpu)
    finally:
        mirror.stop()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
