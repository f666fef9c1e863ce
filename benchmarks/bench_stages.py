"""CPU per call of newsspider's pure steps on the golden and saved pages, with no Scrapy around.

    python benchmarks/bench_stages.py [--rounds 50] [--repeat 1] [--converters]

Each step runs ``--rounds`` times on each page after one warm-up call; the figure is CPU ms per
call (``time.process_time``), the mean over the pages (their least, most and median in
brackets), for the 8 golden pages
(``tests/data/sina/golden``) and the 5 saved pages (``tests/data/sina/pages``) apart. With
``--repeat N`` each page's figure is the least of N such runs, which a busy machine inflates
less. ``markdown - clean`` is what the markdown body costs beyond the clean body it starts from.

With ``--converters``, the HTML-to-Markdown converters considered for ``ARCHIVE_BODY=markdown``
convert each page's clean body too, those that are installed (``markdownify``,
``markdownify-rs``; none of them is a dependency): html-to-markdown as newsspider calls it
(``to_markdown``: its text escaping included) and alone.

It calls newsspider's functions by name, so it follows their renames: ``read_article`` (page
bytes and encoding to the extracted article, whose ``body_html`` it reads), ``render_body``
(that body, the URL and a ``BodyMode`` to the post's body) and, with ``--converters``,
``newsspider.archive.markdown.to_markdown``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.utils.content import DATA, load_goldens  # noqa: E402  (the repo root is not on the path)


def cpu_ms(step: Callable[[], Any], rounds: int, repeat: int = 1) -> float:
    step()
    figures = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(rounds):
            step()
        figures.append((time.process_time() - started) / rounds * 1000)
    return min(figures)


def _spread(values: list[float]) -> str:
    low, high, median = min(values), max(values), statistics.median(values)
    return f"{statistics.mean(values):6.3f}  ({low:.3f}-{high:.3f}, median {median:.3f})"


def pages() -> dict[str, list[tuple[bytes, str]]]:
    """(page bytes, URL) of the golden pages and of the saved pages."""
    saved = []
    for folder in sorted((DATA / "pages").iterdir()):
        expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        saved.append(((folder / f"{folder.name}.html").read_bytes(), expected["canonical_url"]))
    return {
        "golden pages": [(g.page.encode("utf-8"), g.url) for g in load_goldens()],
        "saved pages": saved,
    }


def converters() -> dict[str, Callable[[str], object]]:
    """The candidate converters that are installed, each a function of the clean body."""
    import html_to_markdown

    from newsspider.archive.markdown import to_markdown

    found: dict[str, Callable[[str], object]] = {
        "html-to-markdown (to_markdown)": to_markdown,
        "html-to-markdown alone": partial(
            html_to_markdown.convert,
            options=html_to_markdown.ConversionOptions(extract_metadata=False),
        ),
    }
    try:
        import markdownify_rs

        found["markdownify-rs"] = partial(markdownify_rs.markdownify, heading_style="ATX")
    except ImportError:
        print("  (markdownify-rs is not installed: pip install markdownify-rs==0.2.1)")
    try:
        import markdownify

        found["markdownify"] = partial(markdownify.markdownify, heading_style="ATX")
    except ImportError:
        print("  (markdownify is not installed: pip install markdownify==1.2.3)")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="calls per page and step (50)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per page, least kept (1)")
    parser.add_argument(
        "--converters", action="store_true", help="also the candidate Markdown converters"
    )
    args = parser.parse_args(argv)
    rounds, repeat = args.rounds, args.repeat
    from newsspider.archive.body import BodyMode, render_body
    from newsspider.sina.article import read_article

    candidates = converters() if args.converters else {}
    runs = f", least of {repeat} runs" if repeat > 1 else ""
    for label, group in pages().items():
        figures: dict[str, list[float]] = {}
        converted: dict[str, list[float]] = {}
        for raw, url in group:
            body_html = read_article(raw, "utf-8").body_html or ""
            steps: dict[str, Callable[[], Any]] = {
                "read_article (decode, parse, extract)": partial(read_article, raw, "utf-8")
            }
            for mode in BodyMode:
                steps[f"render_body {mode.value}"] = partial(render_body, body_html, url, mode)
            for name, step in steps.items():
                figures.setdefault(name, []).append(cpu_ms(step, rounds, repeat))
            clean = render_body(body_html, url, BodyMode.CLEAN)
            for name, convert in candidates.items():
                step = partial(convert, clean.html if clean else "")
                converted.setdefault(name, []).append(cpu_ms(step, rounds, repeat))
        figures["markdown - clean"] = [
            markdown - clean
            for markdown, clean in zip(
                figures["render_body markdown"], figures["render_body clean"], strict=True
            )
        ]
        print(f"CPU ms per call, mean over {len(group)} {label}, {rounds} calls each{runs}:")
        for name, values in figures.items():
            print(f"  {name:40s} {_spread(values)}")
        if converted:
            print("  converters, on the clean body:")
        for name, values in converted.items():
            print(f"    {name:38s} {_spread(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
