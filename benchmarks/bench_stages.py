"""CPU per call of newsspider's pure steps on the golden pages, with no Scrapy around them.

    python benchmarks/bench_stages.py [--rounds 50] [--repeat 1]

Each step runs ``--rounds`` times on each golden page (``tests/data/sina/golden``) after one
warm-up call; the figure is CPU ms per call (``time.process_time``), the mean over the pages.
With ``--repeat N`` each page's figure is the least of N such runs, which a busy machine
inflates less.
It calls newsspider's functions by name, so it follows their renames: ``read_article`` (page
bytes and encoding to the extracted article, whose ``body_html`` it reads) and ``render_body``
(that body, the URL and a ``BodyMode`` to the post's body).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.utils.content import load_goldens  # noqa: E402  (the repo root is not on the path)


def cpu_ms(step: Callable[[], Any], rounds: int, repeat: int = 1) -> float:
    step()
    figures = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(rounds):
            step()
        figures.append((time.process_time() - started) / rounds * 1000)
    return min(figures)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="calls per page and step (50)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per page, least kept (1)")
    args = parser.parse_args(argv)
    rounds, repeat = args.rounds, args.repeat
    from newsspider.archive.body import BodyMode, render_body
    from newsspider.sina.article import read_article

    figures: dict[str, list[float]] = {}
    goldens = load_goldens()
    for golden in goldens:
        raw = golden.page.encode("utf-8")
        body_html = read_article(raw, "utf-8").body_html or ""
        steps: dict[str, Callable[[], Any]] = {
            "read_article (decode, parse, extract)": partial(read_article, raw, "utf-8")
        }
        for mode in BodyMode:
            steps[f"render_body {mode.value}"] = partial(render_body, body_html, golden.url, mode)
        for name, step in steps.items():
            figures.setdefault(name, []).append(cpu_ms(step, rounds, repeat))
    runs = f", least of {repeat} runs" if repeat > 1 else ""
    print(f"CPU ms per call, mean over {len(goldens)} golden pages, {rounds} calls each{runs}:")
    for name, values in figures.items():
        print(f"  {name:40s} {statistics.mean(values):6.3f}  ({min(values):.3f}-{max(values):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
