"""End to end: only articles are archived, and a run whose pages drift off the Sina templates
fails."""

from __future__ import annotations

import pytest

from newsspider.archive.naming import post_filename

from utils.archive import CHINA_DIR, posts_under
from utils.content import DATA, GOLDENS, synthetic_article
from utils.crawl import run_crawl
from utils.mocksina import MockSina

pytestmark = pytest.mark.e2e

NOT_ARTICLE = DATA / "not_article"


def test_non_article_pages_are_dropped_and_fetched_again_and_drift_fails_the_run(tmp_path):
    golden = GOLDENS[2]
    base = golden.meta["url"].rsplit("/", 1)[0]
    bad = {
        name: f"{base}/doc-i{name[:7]:x<7}{i:07d}.shtml"
        # (error_not_found.html is left out: its meta refresh sends Scrapy to the home page,
        # which is dropped as redirected_off_article before anything is parsed.)
        for i, name in enumerate(["error_deleted_article", "login_wall", "channel_front"])
    }
    deep = f"{base}/doc-ideepdiv0000009.shtml"
    archive = tmp_path / "a"
    with MockSina() as server:
        for g in GOLDENS[:5]:
            server.add_page(g.meta["url"], g.page)
        for name, url in bad.items():
            server.add_page(url, (NOT_ARTICLE / f"{name}.html").read_bytes())
        start = golden.page.index("<body>") + len("<body>")
        end = golden.page.index("</body>")
        nested = "<div>" * 3000 + golden.page[start:end] + "</div>" * 3000
        server.add_page(deep, golden.page[:start] + nested + golden.page[end:])
        listed = [
            {**golden.item, "url": url, "title": f"文章{name}", "docid": f"comos:{name[:7]}"}
            for name, url in [*bad.items(), ("deep", deep)]
        ]
        roll = [g.item for g in GOLDENS[:5]] + listed
        server.set_roll(155, 1686, roll)
        # 5 articles and 3 non-article pages: under RUN_FALLBACK_MIN_PAGES, so no drift.
        first = run_crawl(server.base_url, archive)

        # The second run finds 10 new articles that lost their Sina markup (read by the meta
        # template, archived) beside the 3 pages that are still no articles: drift.
        meta = []
        for index in range(10):
            article = synthetic_article(100 + index, golden)
            page = article.page.replace('id="artibody"', "").replace("main-title", "x")
            server.add_page(article.url, page)
            meta.append(article.item)
        server.set_roll(155, 1686, meta + roll)
        second = run_crawl(server.base_url, archive)
        counts = {url: server.count(url) for url in [*bad.values(), deep]}
        golden_counts = [server.count(g.meta["url"]) for g in GOLDENS[:5]]

    assert first.returncode == 0, first.stderr[-3000:]
    stats = first.stats
    assert stats["sina/dropped/not_article_page"] == 3
    assert stats["sina/dropped/too_deep"] == 1
    assert stats["archive/written"] == 5
    assert stats["sina/template/generic/pages"] == 3
    assert stats["sina/template/finance/pages"] == 5
    assert stats["sina/template/finance/share/body"] == 1.0
    assert "newsspider/run_failed" not in stats
    dropped = [line for line in first.stderr.splitlines() if ": not_article_page: " in line]
    assert len(dropped) == 3
    assert all(any(url in line for line in dropped) for url in bad.values())
    assert sum(f"Dropped {deep}:" in line for line in first.stderr.splitlines()) == 1
    assert set(posts_under(archive)) >= {
        (CHINA_DIR / post_filename(g.meta["title"])).as_posix() for g in GOLDENS[:5]
    }

    # Not indexed: fetched again by the next run, while the archived articles are not.
    assert counts == dict.fromkeys(counts, 2)
    assert golden_counts == [1] * 5
    assert second.returncode == 1
    stats = second.stats
    assert stats["newsspider/run_failed"] == "extraction_drift"
    assert stats["sina/dropped/not_article_page"] == 3
    assert stats["archive/written"] == 10
    assert stats["sina/template/meta/pages"] == 10
    errors = [line for line in second.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1, errors
    assert "Extraction drift: 13 of 13 pages fell back to no Sina template" in errors[0]
    assert "(generic 3, meta 10), e.g. https://" in errors[0]
    assert "Traceback" not in first.stderr + second.stderr
