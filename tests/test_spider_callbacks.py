"""The spiders' callbacks called directly: fabricated roll and article responses and failures
in, the requests, items and checks they yield (and what they count) out. No crawl, no
subprocess, no network: the spiders come from ``get_crawler`` with the project's settings and
an archive in ``tmp_path``. (What the pipelines make of a fetched page: test_pipelines.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.internet.error import DNSLookupError, TimeoutError
from twisted.python.failure import Failure

from newsspider.archive.index import GONE, IndexRow
from newsspider.extensions.archive import CrawlArchive
from newsspider.extensions.outcomes import ArticleOutcomes, Example
from newsspider.failures import (
    OffSiteRequest,
    RedirectedOffSite,
    RedirectLoop,
    ResponseTooLarge,
    TooManyRedirects,
)
from newsspider.items import ArticleCheck, FetchedPage
from newsspider.sina.dates import BEIJING
from newsspider.sina.urls import roll_api_url
from newsspider.spiders.base import ArticleSpider
from newsspider.spiders.sina_finance import SinaFinanceSpider
from newsspider.spiders.sina_refresh import SinaRefreshSpider

from utils.archive import index_row
from utils.content import DATA, GOLDENS, Golden, RollQuery, Rolls, synthetic_article
from utils.settings import PROJECT
from utils.steps import drained

CHINA, MACRO = (155, 1686), (155, 1687)
ROLL_155_1686 = json.loads((DATA / "roll" / "155-1686.json").read_text(encoding="utf-8"))


# --- building spiders, responses and failures ---------------------------------------------------


@pytest.fixture
def make_spider(tmp_path) -> Iterator[Callable[..., Any]]:
    """``make_spider(cls=SinaFinanceSpider, settings=None, **arguments)``: a spider of a crawler
    that is never run, on an archive in ``tmp_path``; its archive index is closed afterwards."""
    made: list[ArticleSpider] = []

    def make(
        cls: type[ArticleSpider] = SinaFinanceSpider,
        settings: dict[str, Any] | None = None,
        **arguments: str,
    ) -> Any:
        merged = {
            **PROJECT,
            "ARCHIVE_DIR": str(tmp_path),
            "WORKER_PROCESSES": 0,
            **(settings or {}),
        }
        spider = cls.from_crawler(get_crawler(cls, merged), **arguments)
        made.append(spider)
        return spider

    yield make
    for spider in made:
        CrawlArchive.of(spider.crawler).close()  # what the spider_closed signal does


def archived(spider: ArticleSpider, *rows: IndexRow) -> None:
    """Put ``rows`` into the index the spider reads, as earlier runs would have."""
    for row in rows:
        spider.known.put(row)


def row_for(item: dict[str, Any], n: int = 1, **changes: Any) -> IndexRow:
    """The index row of an archived roll item (same URL, docid and ``mtime``)."""
    values = dict(url=item["url"], docid=item["docid"], mtime=int(item["mtime"]))
    return index_row(n, **{**values, **changes})


def roll_response(request: Request, rolls: Rolls) -> TextResponse:
    """The roll API's answer to ``request``, from ``rolls``."""
    body, content_type = rolls.answer(RollQuery.parse(urlsplit(request.url).query))
    return TextResponse(
        request.url, body=body, headers={"Content-Type": content_type}, request=request
    )


def rolls_of(**lists: list[dict[str, Any]]) -> Rolls:
    """Roll lists by channel name: ``rolls_of(china=[…], macro=[…])``."""
    where = {"china": CHINA, "macro": MACRO}
    rolls = Rolls()
    for name, items in lists.items():
        rolls.set(*where[name], items)
    return rolls


def first_roll_request(spider: SinaFinanceSpider) -> Request:
    [request] = drained(spider.start())
    return request


def read_roll(spider: SinaFinanceSpider, request: Request, rolls: Rolls) -> list[Request]:
    """What the spider's roll callback yields for ``request`` answered from ``rolls``."""
    assert request.callback == spider.parse_roll
    return list(request.callback(roll_response(request, rolls), **request.cb_kwargs))


def split(requests: list[Request]) -> tuple[list[Request], list[Request]]:
    """(article requests, roll requests)."""
    articles = [r for r in requests if "/api/roll/" not in r.url]
    return articles, [r for r in requests if "/api/roll/" in r.url]


def page_of(request: Request) -> tuple[int, int, int]:
    """(pageid, lid, page) of a roll request."""
    query = RollQuery.parse(urlsplit(request.url).query)
    return int(query.pageid), int(query.lid), query.page


def article_response(
    request: Request,
    golden: Golden,
    *,
    status: int = 200,
    url: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    redirected_from: list[str] | None = None,
) -> Response:
    """An answer to an article request: the golden page, or ``body``; ``url`` is where a
    redirect (from ``redirected_from``) ended."""
    if redirected_from:
        request.meta["redirect_urls"] = redirected_from
    return HtmlResponse(
        url or request.url,
        status=status,
        body=golden.page.encode("utf-8") if body is None else body,
        headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})},
        request=request,
    )


def parse(spider: ArticleSpider, response: Response) -> list[Any]:
    request = response.request
    assert request is not None and request.callback == spider.parse_article
    return list(request.callback(response, **request.cb_kwargs))


def failed(request: Request, exc: BaseException) -> Failure:
    """The failure Scrapy hands an errback: ``exc``, with the request it is about."""
    failure = Failure(exc)
    failure.request = request  # type: ignore[attr-defined]
    return failure


def http_error(request: Request, status: int) -> HttpError:
    return HttpError(HtmlResponse(request.url, status=status, request=request), "non-2xx")


def stats(spider: ArticleSpider) -> dict[str, Any]:
    return dict(spider.crawler.stats.get_stats())


def examples(spider: ArticleSpider) -> list[Example]:
    return ArticleOutcomes.of(spider.crawler).examples


def article_request(spider: SinaFinanceSpider, item: dict[str, Any]) -> Request:
    """The request the roll callback yields for ``item``, alone on the first roll page."""
    [request] = split(read_roll(spider, first_roll_request(spider), rolls_of(china=[item])))[0]
    return request


# --- roll pages ---------------------------------------------------------------------------------


def test_start_asks_for_the_first_roll_page_of_the_first_channel(make_spider):
    spider = make_spider(channels="macro,china", num="20")
    request = first_roll_request(spider)
    assert request.url == roll_api_url(*MACRO, 20, 1)
    assert request.callback == spider.parse_roll
    assert request.errback == spider.on_roll_error
    assert request.cb_kwargs == {"channel_index": 0, "page": 1, "failures": 0}
    assert request.dont_filter is True
    assert request.priority == -1  # below the articles: the roll is read ahead only as needed


def test_a_roll_page_yields_its_new_articles_then_the_next_page(make_spider):
    spider = make_spider(pages="2", num="5")
    requests = read_roll(spider, first_roll_request(spider), rolls_of(china=ROLL_155_1686))
    articles, rolls = split(requests)
    assert requests[-1] is rolls[0]  # the articles first
    assert [r.url for r in articles] == [item["url"] for item in ROLL_155_1686[:5]]
    for request, item in zip(articles, ROLL_155_1686, strict=False):
        assert request.callback == spider.parse_article
        assert request.errback == spider.on_article_error
        assert request.cb_kwargs["url"] == item["url"]
        assert request.cb_kwargs["channel"] == "china"
        entry = request.cb_kwargs["entry"]
        assert (entry.title, entry.docid) == (item["title"], item["docid"])
        assert entry.intime == datetime.fromtimestamp(int(item["intime"]), BEIJING)
        assert "If-None-Match" not in request.headers
        assert "If-Modified-Since" not in request.headers
        assert request.dont_filter is False  # new: Scrapy's dupefilter may drop a repeat
        assert "handle_httpstatus_list" not in request.meta
        assert request.priority > rolls[0].priority
    assert [page_of(r) for r in rolls] == [(*CHINA, 2)]
    assert rolls[0].cb_kwargs == {"channel_index": 0, "page": 2, "failures": 0}
    found = stats(spider)
    assert (found["sina/roll/pages"], found["sina/roll/items"], found["sina/roll/new"]) == (1, 5, 5)


@pytest.mark.parametrize(
    "listed",
    [
        "http://finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml",
        "https://finance.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml?from=wap#top",
        "https://FINANCE.sina.com.cn/china/2021-12-13/doc-ilasorkf8164852.shtml#p2",
    ],
)
def test_article_requests_go_to_the_canonical_url(make_spider, listed):
    spider = make_spider()
    request = article_request(spider, {**GOLDENS[2].item, "url": listed})
    assert request.url == GOLDENS[2].url
    assert request.cb_kwargs["url"] == GOLDENS[2].url


def test_the_same_article_twice_is_asked_for_once_by_url_and_by_docid(make_spider):
    spider = make_spider(num="50")
    first, other = GOLDENS[0].item, GOLDENS[1].item
    same_docid = {**first, "url": first["url"].replace("/china/", "/roll/")}
    page = [first, {**first, "title": "again"}, same_docid, other]
    articles, _ = split(read_roll(spider, first_roll_request(spider), rolls_of(china=page)))
    assert [r.url for r in articles] == [first["url"], other["url"]]
    assert stats(spider)["sina/dropped/duplicate"] == 2


def test_an_article_a_later_channel_lists_again_is_not_asked_for_again(make_spider):
    spider = make_spider(channels="china,macro", pages="1")
    rolls = rolls_of(china=ROLL_155_1686[:3], macro=ROLL_155_1686[2:5])
    china_articles, [macro_page] = split(read_roll(spider, first_roll_request(spider), rolls))
    assert page_of(macro_page) == (*MACRO, 1)  # pages=1: on to the next channel
    macro_articles, after = split(read_roll(spider, macro_page, rolls))
    assert len(china_articles) == 3
    assert [r.url for r in macro_articles] == [i["url"] for i in ROLL_155_1686[3:5]]
    assert all(r.cb_kwargs["channel"] == "macro" for r in macro_articles)
    assert after == []  # the last channel: the walk ends
    assert stats(spider)["sina/dropped/duplicate"] == 1


def test_hostile_and_non_article_roll_items_cost_one_item(make_spider):
    spider = make_spider()
    good = GOLDENS[0].item
    page = [
        {**good, "url": "https://evil.example/finance.sina.com.cn/doc-iabcdefg1234567.shtml"},
        {**good, "url": "https://video.sina.com.cn/p/finance/2021-12-13/detail-abc.d.html"},
        {**good, "url": "not a url"},
        {k: v for k, v in good.items() if k != "title"},
        good,
    ]
    articles, _ = split(read_roll(spider, first_roll_request(spider), rolls_of(china=page)))
    assert [r.url for r in articles] == [good["url"]]
    found = stats(spider)
    assert found["sina/dropped/roll_off_site_url"] == 1
    assert found["sina/dropped/roll_no_title"] == 1
    assert found["sina/dropped/not_article"] == 1
    assert found["sina/roll/items"] == 5
    assert Example(page[1]["url"], "dropped", "not_article") in examples(spider)


def test_a_known_article_is_not_asked_for_and_a_changed_one_is_asked_conditionally(make_spider):
    spider = make_spider(pages="1", num="50")
    known, changed, gone, new = ROLL_155_1686[:4]
    archived(
        spider,
        row_for(known, 1),
        row_for(changed, 2, mtime=int(changed["mtime"]) - 60, etag='"v1"', last_modified="x"),
        row_for(gone, 3, status=GONE),
    )
    articles, _ = split(
        read_roll(spider, first_roll_request(spider), rolls_of(china=[known, changed, gone, new]))
    )
    by_url = {r.url: r for r in articles}
    assert list(by_url) == [changed["url"], gone["url"], new["url"]]
    conditional = by_url[changed["url"]]
    assert conditional.headers["If-None-Match"] == b'"v1"'
    assert conditional.headers["If-Modified-Since"] == b"x"
    assert conditional.meta["handle_httpstatus_list"] == [304]
    assert conditional.dont_filter is True  # re-checked on purpose
    assert by_url[gone["url"]].meta["handle_httpstatus_list"] == [304]
    assert "handle_httpstatus_list" not in by_url[new["url"]].meta
    found = stats(spider)
    assert (found["sina/roll/known"], found["sina/roll/changed"], found["sina/roll/new"]) == (
        1,
        2,
        1,
    )


def test_an_article_archived_under_another_url_is_found_by_its_docid(make_spider):
    spider = make_spider()
    item = GOLDENS[2].item
    old_url = item["url"].replace("/china/", "/roll/")
    archived(spider, row_for(item, url=old_url, mtime=int(item["mtime"]) - 60, etag='"e"'))
    request = article_request(spider, item)
    assert request.url == item["url"]  # fetched where the roll lists it ...
    assert request.cb_kwargs["url"] == old_url  # ... and handed on as the URL it is known by
    assert request.headers["If-None-Match"] == b'"e"'


def test_an_empty_archive_reads_one_page_without_pages(make_spider):
    spider = make_spider(num="5")
    requests = read_roll(spider, first_roll_request(spider), rolls_of(china=ROLL_155_1686))
    assert len(requests) == 5
    assert split(requests)[1] == []


def test_catch_up_reads_on_while_pages_hold_something_new_and_stops_at_an_all_known_page(
    make_spider,
):
    spider = make_spider(channels="china,macro", num="4")
    items = [synthetic_article(i).item for i in range(12)]
    archived(spider, *(row_for(item, n) for n, item in enumerate(items[6:], 6)))
    rolls = rolls_of(china=items, macro=[])
    page1 = first_roll_request(spider)  # the archive knows articles: catch-up mode
    new1, [page2] = split(read_roll(spider, page1, rolls))
    new2, [page3] = split(read_roll(spider, page2, rolls))  # 2 new, 2 known: reads on
    new3, [next_channel] = split(read_roll(spider, page3, rolls))  # all known: caught up
    assert (len(new1), len(new2), new3) == (4, 2, [])
    assert [page_of(r) for r in (page2, page3, next_channel)] == [
        (*CHINA, 2),
        (*CHINA, 3),
        (*MACRO, 1),
    ]
    assert stats(spider)["sina/roll/known"] == 6


def test_catch_up_reads_at_most_sina_catchup_pages(make_spider):
    spider = make_spider(num="2", settings={"SINA_CATCHUP_PAGES": 2})
    items = [synthetic_article(i).item for i in range(10)]
    archived(spider, row_for(items[-1], 99))  # not empty: catch-up mode
    rolls = rolls_of(china=items)
    _, [page2] = split(read_roll(spider, first_roll_request(spider), rolls))
    assert split(read_roll(spider, page2, rolls))[1] == []


def test_pages_then_the_next_channel_and_an_empty_page_ends_a_channel(make_spider):
    spider = make_spider(channels="china,macro", pages="3", num="5")
    rolls = rolls_of(china=ROLL_155_1686, macro=[])
    _, [page2] = split(read_roll(spider, first_roll_request(spider), rolls))
    articles, [empty_page] = split(read_roll(spider, page2, rolls))  # items 6..8, page 3 next
    assert len(articles) == 3
    assert page_of(empty_page) == (*CHINA, 3)
    assert [page_of(r) for r in read_roll(spider, empty_page, rolls)] == [(*MACRO, 1)]
    assert read_roll(spider, read_roll(spider, empty_page, rolls)[0], rolls) == []


def test_since_stops_the_walk_at_the_first_older_item(make_spider):
    items = [synthetic_article(i).item for i in range(10)]
    since = datetime.fromtimestamp(int(items[6]["intime"]), BEIJING).strftime("%Y-%m-%dT%H:%M")
    spider = make_spider(since=since, num="5")
    rolls = rolls_of(china=items)
    first, [page2] = split(read_roll(spider, first_roll_request(spider), rolls))
    second, rest = split(read_roll(spider, page2, rolls))
    assert [r.url for r in first + second] == [i["url"] for i in items[:7]]
    assert rest == []
    assert stats(spider)["sina/roll/outside_window"] == 3


def test_until_alone_reads_back_past_newer_pages_and_counts_pages_from_the_window(make_spider):
    items = [synthetic_article(i).item for i in range(15)]
    # One a minute at :20 s; until is the minute of item 7, so items 0..7 are newer: page 1
    # (0..4) is read past, page 2 starts the window.
    until = datetime.fromtimestamp(int(items[7]["intime"]), BEIJING).strftime("%Y-%m-%dT%H:%M")
    spider = make_spider(until=until, num="5")
    rolls = rolls_of(china=items)
    newer, [page2] = split(read_roll(spider, first_roll_request(spider), rolls))
    assert newer == []
    assert page_of(page2) == (*CHINA, 2)
    window, rest = split(read_roll(spider, page2, rolls))
    assert [r.url for r in window] == [i["url"] for i in items[8:10]]
    assert rest == []  # an empty archive reads one page, counted from the window's first
    assert stats(spider)["sina/roll/outside_window"] == 8


def test_until_alone_gives_up_reading_back_after_sina_catchup_pages(make_spider, caplog):
    items = [synthetic_article(i).item for i in range(20)]
    spider = make_spider(
        channels="china,macro", until="2000-01-01", num="5", settings={"SINA_CATCHUP_PAGES": 2}
    )
    rolls = rolls_of(china=items, macro=[])
    [page2] = read_roll(spider, first_roll_request(spider), rolls)
    [next_channel] = read_roll(spider, page2, rolls)
    assert page_of(next_channel) == (*MACRO, 1)
    assert "still newer than -a until" in caplog.text


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html", "not_json"),
        (b'{"result":{"status":{"code":0},"da', "application/json", "bad_json"),
        (b'{"result":{"status":{"code":1,"msg":"x"}}}', "application/json", "status_code"),
        (b'{"result":{"status":{"code":0},"data":"x"}}', "application/json", "bad_envelope"),
        (b'{"status":{"code":0}}', "application/json", "bad_envelope"),
        (b"\x89PNG\r\n\x1a\n", "image/png", "not_text"),
    ],
    ids=["html", "truncated", "status", "data", "no_result", "binary"],
)
def test_an_unusable_roll_page_is_counted_and_the_walk_goes_on(
    make_spider, body, content_type, reason
):
    spider = make_spider(pages="5")
    request = first_roll_request(spider)
    cls = TextResponse if content_type != "image/png" else Response
    response = cls(request.url, body=body, headers={"Content-Type": content_type}, request=request)
    [retry] = list(spider.parse_roll(response, **request.cb_kwargs))
    assert page_of(retry) == (*CHINA, 2)
    assert retry.cb_kwargs["failures"] == 1
    assert stats(spider)[f"sina/roll/failed/{reason}"] == 1


def test_a_channel_is_given_up_after_three_unusable_pages_in_a_row(make_spider):
    spider = make_spider(channels="china,macro", pages="10")
    request = first_roll_request(spider)
    for _ in range(3):
        [request] = list(spider.on_roll_error(failed(request, http_error(request, 503))))
    assert page_of(request) == (*MACRO, 1)
    assert request.cb_kwargs["failures"] == 0
    found = stats(spider)
    assert found["sina/roll/failed/http_503"] == 3
    assert found["sina/roll/given_up"] == 1
    assert found["newsspider/run_failed"] == "roll_given_up"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (lambda r: http_error(r, 503), "http_503"),
        (lambda r: DNSLookupError("feed.mix.sina.com.cn"), "DNSLookupError"),
        (lambda r: TimeoutError(), "TimeoutError"),
    ],
)
def test_a_failed_roll_request_is_counted_and_the_next_page_asked(make_spider, exc, reason):
    spider = make_spider(pages="3")
    request = first_roll_request(spider)
    [retry] = list(spider.on_roll_error(failed(request, exc(request))))
    assert page_of(retry) == (*CHINA, 2)
    assert stats(spider)[f"sina/roll/failed/{reason}"] == 1


def test_explicit_urls_are_asked_for_without_the_roll(make_spider):
    urls = [g.url for g in GOLDENS[:3]]
    spider = make_spider(urls=",".join([urls[0] + "?from=wap", *urls[1:]]), channels="macro")
    archived(spider, index_row(1, url=urls[1], docid=GOLDENS[1].item["docid"], etag='"e"'))
    requests = drained(spider.start())
    assert [r.url for r in requests] == urls
    assert all(r.cb_kwargs["channel"] == "macro" and r.cb_kwargs["entry"] is None for r in requests)
    assert requests[1].headers["If-None-Match"] == b'"e"'


# --- article pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_an_article_page_yields_what_was_fetched_unparsed(make_spider, golden):
    spider = make_spider()
    request = article_request(spider, golden.item)
    headers = {"ETag": '"abc"', "Last-Modified": "Mon, 13 Dec 2021 07:34:10 GMT"}
    response = article_response(request, golden, headers=headers)
    [page] = parse(spider, response)
    assert page == FetchedPage(
        url=golden.url,
        channel="china",
        docid=golden.item["docid"],
        entry=request.cb_kwargs["entry"],
        body=response.body,
        encoding="utf-8",
        etag=headers["ETag"],
        last_modified=headers["Last-Modified"],
    )
    assert page.entry.title == golden.item["title"]
    assert not any(key.startswith("sina/template/") for key in stats(spider))


def test_a_304_yields_an_unchanged_check(make_spider):
    spider = make_spider()
    item = GOLDENS[0].item
    archived(spider, row_for(item, mtime=int(item["mtime"]) - 60, etag='"v1"'))
    request = article_request(spider, item)
    response = article_response(request, GOLDENS[0], status=304, body=b"", headers={"ETag": '"v1"'})
    [check] = parse(spider, response)
    entry = request.cb_kwargs["entry"]
    assert check == ArticleCheck(item["url"], "unchanged", '"v1"', None, entry.mtime)


@pytest.mark.parametrize(
    ("landed", "archived_item"),
    [
        ("https://finance.sina.com.cn/", False),  # a front page
        ("https://finance.sina.com.cn/china/", False),  # a channel page
        (GOLDENS[1].url, False),  # another article
        (GOLDENS[0].url.replace("/china/", "/roll/"), True),  # the same article elsewhere
    ],
)
def test_a_redirect_is_followed_only_to_the_article_asked_for(make_spider, landed, archived_item):
    spider = make_spider()
    request = article_request(spider, GOLDENS[0].item)
    response = article_response(request, GOLDENS[0], url=landed, redirected_from=[request.url])
    results = parse(spider, response)
    if archived_item:
        [item] = results
        assert item.url == GOLDENS[0].url
    else:
        assert results == []
        assert stats(spider)["sina/dropped/not_article_page"] == 1
        assert examples(spider) == [Example(GOLDENS[0].url, "dropped", "not_article_page")]


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"not": "html"}', "application/json", "not_html"),
        (GOLDENS[0].page.encode()[:20000], "text/html; charset=utf-8", "truncated"),
    ],
    ids=["not_html", "truncated"],
)
def test_a_page_that_cannot_be_the_article_is_dropped(make_spider, body, content_type, reason):
    spider = make_spider()
    request = article_request(spider, GOLDENS[0].item)
    response = TextResponse(
        request.url, body=body, headers={"Content-Type": content_type}, request=request
    )
    assert parse(spider, response) == []
    assert stats(spider)[f"sina/dropped/{reason}"] == 1
    assert examples(spider) == [Example(GOLDENS[0].url, "dropped", reason)]


# --- article failures ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410])
def test_a_dead_link_marks_a_known_article_gone_and_drops_an_unknown_one(make_spider, status):
    spider = make_spider(num="50")
    known, unknown = GOLDENS[0].item, GOLDENS[1].item
    old_url = known["url"].replace("/china/", "/roll/")
    archived(spider, row_for(known, url=old_url, mtime=int(known["mtime"]) - 60))
    requests, _ = split(
        read_roll(spider, first_roll_request(spider), rolls_of(china=[known, unknown]))
    )
    gone = [list(spider.on_article_error(failed(r, http_error(r, status)))) for r in requests]
    assert gone == [[ArticleCheck(old_url, GONE)], []]  # the URL it is known by
    assert stats(spider)["sina/dropped/dead_link"] == 1
    assert examples(spider) == [Example(unknown["url"], "dropped", "dead_link")]


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (lambda r: http_error(r, 503), "failed", "http_503"),
        (lambda r: http_error(r, 404), "dropped", "dead_link"),
        (lambda r: DNSLookupError("finance.sina.com.cn"), "failed", "DNSLookupError"),
        (lambda r: ResponseTooLarge("over DOWNLOAD_MAXSIZE"), "failed", "too_large"),
        (lambda r: RedirectedOffSite("to https://evil.example/"), "dropped", "redirected_off_site"),
        (lambda r: RedirectLoop("back to the start"), "dropped", "redirect_loop"),
        (lambda r: TooManyRedirects("21 redirects"), "dropped", "too_many_redirects"),
        (lambda r: OffSiteRequest("evil.example"), "dropped", "off_site_request"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_failed_article_is_counted_under_its_reason(make_spider, exc, kind, reason):
    spider = make_spider()
    request = article_request(spider, GOLDENS[0].item)
    assert list(spider.on_article_error(failed(request, exc(request)))) == []
    assert stats(spider)[f"sina/{kind}/{reason}"] == 1
    assert examples(spider) == [Example(GOLDENS[0].url, kind, reason)]


# --- refresh ------------------------------------------------------------------------------------


def test_refresh_asks_for_every_selected_article_conditionally(make_spider):
    spider = make_spider(SinaRefreshSpider, channel="macro")
    rows = [
        index_row(1, etag='"a"'),
        index_row(2, channel="macro", etag='"b"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT"),
        index_row(3, channel="macro", title="宏观"),
    ]
    archived(spider, *rows)
    requests = drained(spider.start())
    assert [r.url for r in requests] == [rows[1].url, rows[2].url]
    assert requests[0].headers["If-None-Match"] == b'"b"'
    assert requests[0].headers["If-Modified-Since"] == b"Mon, 01 Jan 2024 00:00:00 GMT"
    assert all(r.meta["handle_httpstatus_list"] == [304] for r in requests)
    assert requests[1].cb_kwargs["channel"] == "macro"
    assert requests[1].cb_kwargs["entry"].title == "宏观"  # the post keeps its title
    assert stats(spider)["refresh/checked"] == 2


def test_refresh_turns_a_304_and_a_410_into_checks(make_spider):
    spider = make_spider(SinaRefreshSpider, all="1")
    rows = [index_row(1, etag='"a"'), index_row(2)]
    archived(spider, *rows)
    unchanged, gone = drained(spider.start())
    response = article_response(
        unchanged, GOLDENS[0], status=304, body=b"", headers={"ETag": '"a"'}
    )
    [check] = parse(spider, response)
    assert check == ArticleCheck(rows[0].url, "unchanged", '"a"', None, check.updated_at)
    assert check.updated_at is not None and check.updated_at.timestamp() == rows[0].mtime
    assert list(spider.on_article_error(failed(gone, http_error(gone, 410)))) == [
        ArticleCheck(rows[1].url, GONE)
    ]
