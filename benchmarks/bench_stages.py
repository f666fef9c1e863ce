"""CPU per call of each step newsspider takes for an article, on the golden pages.

    python benchmarks/bench_stages.py [--rounds 50]

Each step runs in this process, on each of the 8 golden pages in ``tests/data/sina/golden``,
``--rounds`` times after one warm-up call; the figure is CPU ms per call (``time.thread_time``),
the mean over pages. A crawl runs the same functions (in its worker processes when
``WORKER_PROCESSES`` is above 0), so these figures are what ``bench_crawl.py`` adds up per article,
without Scrapy around them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GOLDEN = REPO / "tests" / "data" / "sina" / "golden"


def cpu_ms(step: Callable[[], Any], rounds: int) -> float:
    step()
    started = time.thread_time()
    for _ in range(rounds):
        step()
    return (time.thread_time() - started) / rounds * 1000


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50, help="calls per page and step (50)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    pages = []
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        url = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["url"]
        pages.append((url, (folder / "page.html").read_bytes()))
    folder = Path(tempfile.mkdtemp(prefix="newsspider-stages-"))
    try:
        figures = measure(pages, folder, args.rounds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"CPU ms per call, mean over {len(pages)} golden pages, {args.rounds} calls each:")
    for name, values in figures.items():
        spread = f"(pages {min(values):.3f}-{max(values):.3f})"
        print(f"  {name:40s} {statistics.mean(values):6.3f}  {spread}")
    return 0


def measure(pages: list[tuple[str, bytes]], folder: Path, rounds: int) -> dict[str, list[float]]:
    from w3lib.encoding import html_to_unicode

    from newsspider.archive.body import BodyMode, render_body
    from newsspider.archive.files import write_atomic
    from newsspider.sina.article import page_root, parse_article, read_article

    figures: dict[str, list[float]] = {}
    names = itertools.count()

    def new_post(data: bytes, fsync: bool) -> None:
        write_atomic(folder / f"{next(names)}.md", data, fsync=fsync)

    for url, raw in pages:
        text = html_to_unicode("charset=utf-8", raw)[1]
        body_html = read_article(raw, "utf-8").body_html or ""
        post = text[:20000].encode("utf-8")
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("decode (html_to_unicode)", partial(html_to_unicode, "charset=utf-8", raw)),
            ("parse the page (page_root)", partial(page_root, text)),
            ("extract (parse_article)", partial(parse_article, page_root(text))),
            ("read_article: the three above", partial(read_article, raw, "utf-8")),
            *[
                (f"render_body {mode.value}", partial(render_body, body_html, url, mode))
                for mode in BodyMode
            ],
            ("write_atomic, a new 20 KB post, fsync", partial(new_post, post, True)),
            ("write_atomic, a new 20 KB post, no fsync", partial(new_post, post, False)),
        ]
        for name, step in steps:
            figures.setdefault(name, []).append(cpu_ms(step, rounds))
    return figures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
