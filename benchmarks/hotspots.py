"""Newsspider's hot spots from a py-spy profile of a crawl.

    py-spy record -r 500 -f raw -o crawl.txt -- python -m scrapy crawl sina_finance …
    python benchmarks/hotspots.py crawl.txt --rate 500 --articles 2000

``-f raw`` writes collapsed stacks (``frame;frame;… count``). Each sample is attributed to:

* the entry point: the outermost newsspider frame (a spider callback, a pipeline's
  ``process_item``, the mirror handler, an extension …; in a worker process, recorded with
  ``py-spy record --subprocesses``, the task it runs), or ``scrapy/twisted`` when the stack has no
  newsspider frame at all;
* the innermost newsspider frame, with what it called (lxml, nh3, sqlite …) counted in it;
  and the same by source line (``files.py:32`` is the ``os.fsync`` of a post, say);
* the leaf, the function that was running, for stacks under newsspider code.

``commands/crawl.py`` (the ``scrapy crawl`` command, at the bottom of every stack) does not count
as newsspider code here.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")
ENTRY_IGNORED = ("newsspider/commands/crawl.py",)
# A worker process's own loop: its samples are filed under the task it runs.
WORKER_MODULE = "newsspider/workers.py"


def _parse(frame: str) -> tuple[str, str, str]:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame, "", ""
    return match["func"], match["file"], match["line"] or ""


def _label(func: str, file: str, line: str = "") -> str:
    return f"{file}:{func}" if file else func


def analyse(path: Path, top: int) -> tuple[int, dict[str, Counter[str]]]:
    entry: Counter[str] = Counter()
    inner: Counter[str] = Counter()
    inner_line: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_parse(f) for f in stack.split(";")]
        in_worker = any(
            file.endswith(WORKER_MODULE) and func == "serve" for func, file, _line in frames
        )
        ours = [
            (func, file, line)
            for func, file, line in frames
            if "newsspider/" in file and not file.endswith((*ENTRY_IGNORED, WORKER_MODULE))
        ]
        if not ours:
            entry["(scrapy, twisted, no newsspider frame)"] += count
            continue
        entry[("worker process: " if in_worker else "") + _label(*ours[0])] += count
        inner[_label(*ours[-1])] += count
        func, file, line = ours[-1]
        inner_line[f"{file}:{line} ({func})"] += count
        leaf[_label(*frames[-1])] += count
    return total, {
        "entry": entry,
        "innermost newsspider": inner,
        "innermost newsspider line": inner_line,
        "leaf under newsspider": leaf,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("raw", type=Path, help="py-spy record -f raw output")
    parser.add_argument("--rate", type=float, default=100.0, help="py-spy -r (samples/s)")
    parser.add_argument("--articles", type=int, default=0, help="articles the crawl fetched")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    total, tables = analyse(args.raw, args.top)
    print(f"{total} samples ({total / args.rate:.1f}s of CPU at {args.rate:g}/s)")
    for title, counter in tables.items():
        print(f"\nby {title}:")
        for name, count in counter.most_common(args.top):
            share = 100 * count / total
            per = (
                f"{1000 * count / args.rate / args.articles:6.2f} ms/article"
                if args.articles
                else ""
            )
            print(f"  {share:5.1f}%  {per}  {name}")


if __name__ == "__main__":
    main()
