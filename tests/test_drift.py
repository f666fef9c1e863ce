"""Extraction drift: per-template page and field stats, and the run that fails on drift."""

import logging

import pytest
from scrapy.utils.test import get_crawler

from newsspider.config import ConfigError
from newsspider.extensions.drift import DriftConfig, Examples, ExtractionDrift, drift_problems
from newsspider.extensions.reachability import FAILED_STAT
from newsspider.post import build_post
from newsspider.spiders.sina_finance import SinaFinanceSpider

from utils.content import GOLDENS
from utils.items import CLEAN, fetched

CONFIG = DriftConfig(max_fallback_ratio=0.2, min_pages=10)


def pages(template, count, **found):
    """Stats for ``count`` pages of ``template``; ``found`` gives counts that differ from all."""
    stats = {f"sina/template/{template}/pages": count}
    for name in ("title", "date", "source", "body", "headimg"):
        stats[f"sina/template/{template}/found/{name}"] = found.get(name, count)
    return stats


@pytest.mark.parametrize(
    ("stats", "problems"),
    [
        ({**pages("finance", 8), **pages("generic", 2)}, []),  # 20%: not more than the ratio
        ({**pages("finance", 7), **pages("generic", 3)}, ["3 of 10 pages fell back"]),
        (
            {**pages("finance", 7), **pages("meta", 1), **pages("generic", 2)},
            ["(generic 2, meta 1)"],
        ),
        ({**pages("finance", 1), **pages("generic", 8)}, []),  # 9 pages: under the minimum
        ({**pages("news", 10, date=7)}, ["3 of 10 news pages have no date"]),
        ({**pages("news", 10, date=8, source=0, headimg=0)}, []),  # source, headimg may be gone
        ({**pages("legacy", 9, body=0), **pages("finance", 50)}, []),  # 9 legacy pages: too few
        (
            {**pages("mobile", 10, title=0, body=0)},
            ["10 of 10 mobile pages have no title", "10 of 10 mobile pages have no body"],
        ),
    ],
)
def test_drift_problems(stats, problems):
    found = drift_problems(stats, CONFIG)
    assert len(found) == len(problems)
    for phrase, expected in zip(found, problems, strict=True):
        assert expected in phrase


def test_min_pages_zero_still_needs_a_page():
    assert drift_problems({}, DriftConfig(0.2, 0)) == []
    assert drift_problems(pages("generic", 1), DriftConfig(0.2, 0))


def test_problems_name_example_urls():
    examples = Examples()
    for i in range(5):
        examples.add("generic", f"https://finance.sina.com.cn/a{i}.shtml", ["title"])
    examples.add("finance", "https://finance.sina.com.cn/ok.shtml", ["title", "date", "body"])
    (problem,) = drift_problems(pages("generic", 12), CONFIG, examples)
    assert problem.endswith(
        "e.g. https://finance.sina.com.cn/a0.shtml https://finance.sina.com.cn/a1.shtml "
        "https://finance.sina.com.cn/a2.shtml"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"RUN_MAX_FALLBACK_RATIO": "1.5"}, "RUN_MAX_FALLBACK_RATIO='1.5' is not valid"),
        ({"RUN_MAX_FALLBACK_RATIO": "lots"}, "use a share from 0 to 1"),
        ({"RUN_FALLBACK_MIN_PAGES": "-1"}, "RUN_FALLBACK_MIN_PAGES='-1' is not valid"),
        ({"RUN_FALLBACK_MIN_PAGES": "2.5"}, "use a whole number from 0"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ConfigError, match=message):
        DriftConfig.from_settings(get_crawler(settings_dict=settings).settings)


def _read(ext, golden, html=None, url=None):
    """What the normalization pipeline tells the extension of one page it read."""
    built = build_post(fetched(golden, html, url=url), CLEAN)
    ext.observe(url or golden.url, built.template, built.found)


def _crawl(**settings):
    """The extension of a crawler that is not run; the tests call its signal handlers (the
    e2e tests see them connected)."""
    crawler = get_crawler(SinaFinanceSpider, settings)
    crawler.stats.open_spider()
    return crawler, ExtractionDrift.from_crawler(crawler)


def _close(crawler, ext):
    ext.spider_closed(SinaFinanceSpider(), "finished")
    return crawler.stats.get_stats()


def test_items_are_counted_by_template_and_field_found():
    crawler, ext = _crawl()
    for golden in GOLDENS[:3]:  # archived, each with a picture
        _read(ext, golden)
    _read(ext, GOLDENS[3], GOLDENS[3].page.replace('id="artibody"', 'id="x"'))  # dropped
    stats = _close(crawler, ext)
    assert stats["sina/template/finance/pages"] == 4
    assert stats["sina/template/finance/found/title"] == 4
    assert stats["sina/template/finance/found/date"] == 4
    assert stats["sina/template/finance/found/source"] == 4
    assert stats["sina/template/finance/found/body"] == 3
    assert stats["sina/template/finance/found/headimg"] == 3
    assert stats["sina/template/finance/share/body"] == 0.75
    assert stats["sina/template/finance/share/title"] == 1.0
    assert "sina/template/generic/pages" not in stats
    assert FAILED_STAT not in stats  # 4 pages: under RUN_FALLBACK_MIN_PAGES


def test_a_run_mostly_on_the_fallbacks_fails_with_one_line(caplog):
    crawler, ext = _crawl(RUN_FALLBACK_MIN_PAGES=3)
    generic = GOLDENS[0].page.replace('id="artibody"', "x").replace('class="main-title"', "x")
    for i in range(3):
        _read(ext, GOLDENS[0], generic, url=f"https://s.cn/{i}")
    with caplog.at_level(logging.ERROR):
        stats = _close(crawler, ext)
    assert stats[FAILED_STAT] == "extraction_drift"
    assert stats["sina/template/meta/pages"] == 3
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "Extraction drift: 3 of 3 pages fell back to no Sina template (meta 3), e.g. "
        "https://s.cn/0 https://s.cn/1 https://s.cn/2 (RUN_MAX_FALLBACK_RATIO=0.2, "
        "RUN_FALLBACK_MIN_PAGES=3); the Sina page templates may have changed; the run counts "
        "as failed."
    ]


def test_an_earlier_failure_reason_is_kept():
    crawler, ext = _crawl(RUN_FALLBACK_MIN_PAGES=1)
    crawler.stats.set_value(FAILED_STAT, "too_many_errors")
    html = GOLDENS[0].page.replace('id="artibody"', "x").replace('class="main-title"', "x")
    _read(ext, GOLDENS[0], html)
    assert _close(crawler, ext)[FAILED_STAT] == "too_many_errors"
