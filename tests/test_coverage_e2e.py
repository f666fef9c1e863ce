"""End to end: several channels, backfill windows, explicit URLs, GBK pages and bad input."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from newsspider.archive.front_matter import read_front_matter
from newsspider.archive.naming import post_filename
from newsspider.sina.dates import BEIJING

from utils.archive import CHINA_DIR, posts_under
from utils.content import DATA, GOLDENS, synthetic_article
from utils.crawl import run_crawl, scrapy
from utils.mocksina import MockSina

pytestmark = pytest.mark.e2e

SITE = Path("金融") / "新浪财经"


def serve(server: MockSina, indexes, pageid=155, lid=1686):
    items = [server.add_article(synthetic_article(index)) for index in indexes]
    server.set_roll(pageid, lid, items)
    return items


def titles_by_folder(archive):
    found: dict[str, set[str]] = {}
    for name, data in posts_under(archive).items():
        folder, _, _ = name.rpartition("/")
        found.setdefault(folder.rsplit("/", 1)[1], set()).add(
            read_front_matter(data.decode())["title"]
        )
    return found


def test_channels_in_order_and_each_article_once(tmp_path):
    with MockSina() as server:
        china = serve(server, range(10), 155, 1686)
        macro = serve(server, range(5, 15), 155, 1687)
        us = serve(server, range(12, 17), 384, 2672)
        result = run_crawl(server.base_url, tmp_path / "a", "-a", "channels=china,macro,us_stocks")
        assert result.returncode == 0, result.stderr[-3000:]
        for item in china + macro + us:
            assert server.count(item["url"]) == 1
        # Listed again by a later channel: skipped as a duplicate, or as known when the first
        # channel's copy was already archived.
        stats = result.stats
        assert stats.get("sina/dropped/duplicate", 0) + stats.get("sina/roll/known", 0) == 5 + 3
        found = titles_by_folder(tmp_path / "a")
        assert found["新浪财经－国內"] == {i["title"] for i in china}
        assert found["新浪财经－宏观经济"] == {i["title"] for i in macro[5:]}
        assert found["新浪财经－美股"] == {i["title"] for i in us[3:]}
        # The first requested channel wins.
        again = run_crawl(server.base_url, tmp_path / "b", "-a", "channels=macro,china")
        assert again.returncode == 0
        found = titles_by_folder(tmp_path / "b")
        assert found["新浪财经－宏观经济"] == {i["title"] for i in macro}
        assert found["新浪财经－国內"] == {i["title"] for i in china[:5]}


def test_all_channels_reads_every_roll(tmp_path):
    with MockSina() as server:
        serve(server, range(3), 153, 2518)
        result = run_crawl(server.base_url, tmp_path / "a", "-a", "channels=all")
        assert result.returncode == 0, result.stderr[-3000:]
        rolls = {r.split("?")[1] for r in server.requests if "/api/roll/get" in r}
        assert len(rolls) == 17
        assert result.stats["archive/written"] == 3
    assert set(titles_by_folder(tmp_path / "a")) == {"新浪财经－美股"}


def test_unknown_channel_stops_the_run_with_the_valid_names(tmp_path):
    result = run_crawl("http://127.0.0.1:9", tmp_path / "a", "-a", "channels=china,bogus")
    assert result.returncode == 2
    assert "unknown channel 'bogus'; valid channels: china, macro" in result.stderr


def test_channels_command_prints_the_table():
    result = scrapy("channels")
    assert result.returncode == 0
    out = result.stdout
    assert "china" in out and "155" in out and "1686" in out and "新浪财经－国內" in out
    assert len(out.strip().splitlines()) == 18


def beijing_minute(item, delta_minutes=0):
    moment = datetime.fromtimestamp(int(item["intime"]) + 60 * delta_minutes, BEIJING)
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_backfill_window(tmp_path):
    with MockSina() as server:
        items = serve(server, range(120))
        since = beijing_minute(items[70])  # items are a minute apart, newest first
        until = beijing_minute(items[20], 1)
        result = run_crawl(
            server.base_url,
            tmp_path / "a",
            "-a",
            f"since={since}",
            "-a",
            f"until={until}",
            "-a",
            "num=10",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        fetched = [server.count(item["url"]) for item in items]
        assert fetched == [0] * 20 + [1] * 51 + [0] * 49
        pages = [r for r in server.requests if "/api/roll/get" in r]
        assert len(pages) == 8  # page 8 holds items 70..79: older than since, so no page 9
        assert result.stats["archive/written"] == 51
    # The date reached is logged page by page; page 8 ends with item 79.
    reached = beijing_minute(items[79]).replace("T", " ")
    assert f"roll page 8: 10 listed, 1 in the window, reached {reached}" in result.stderr


def test_backfill_with_an_offset(tmp_path):
    with MockSina() as server:
        items = serve(server, range(30))
        since_utc = datetime.fromtimestamp(int(items[9]["intime"]), BEIJING).astimezone()
        since = since_utc.strftime("%Y-%m-%dT%H:%M:%S%z")
        since = since[:-2] + ":" + since[-2:]
        result = run_crawl(server.base_url, tmp_path / "a", "-a", f"since={since}")
        assert result.returncode == 0, result.stderr[-3000:]
        assert [server.count(i["url"]) for i in items] == [1] * 10 + [0] * 20


def test_explicit_urls_without_the_roll(tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"# two more\n{GOLDENS[1].meta['url']}\n\n{GOLDENS[2].meta['url']}  # seed\n",
        encoding="utf-8",
    )
    with MockSina() as server:
        for golden in GOLDENS:
            server.add_page(golden.meta["url"], golden.page)
        result = run_crawl(
            server.base_url,
            tmp_path / "a",
            "-a",
            f"urls={GOLDENS[0].meta['url']}",
            "-a",
            f"url_file={listing}",
            "-a",
            "channels=macro",
            ARCHIVE_BODY="verbatim",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert not [r for r in server.requests if "/api/roll/get" in r]
    posts = posts_under(tmp_path / "a")
    assert len(posts) == 3
    for golden in GOLDENS[:3]:
        name = (SITE / "新浪财经－宏观经济" / post_filename(golden.meta["title"])).as_posix()
        expected = golden.expected.replace("新浪财经－国內".encode(), "新浪财经－宏观经济".encode())
        assert posts[name] == expected  # the date comes from the page's published time


def test_urls_outside_sina_are_refused(tmp_path):
    result = run_crawl(
        "http://127.0.0.1:9", tmp_path / "a", "-a", "urls=https://example.com/news/1.html"
    )
    assert result.returncode == 2
    assert "not a Sina URL, refused: https://example.com/news/1.html" in result.stderr


def gbk_page(golden):
    text = golden.page.replace('<meta charset="utf-8">', '<meta charset="gbk">')
    return text.encode("gbk", errors="xmlcharrefreplace")


@pytest.mark.parametrize("header", [True, False], ids=["charset-header", "meta-only"])
def test_gbk_pages_decode(tmp_path, header):
    golden = GOLDENS[2]
    with MockSina() as server:
        content_type = "text/html; charset=GBK" if header else "text/html"
        server.add_page(golden.meta["url"], gbk_page(golden), content_type=content_type)
        server.set_roll(155, 1686, [golden.item])
        result = run_crawl(server.base_url, tmp_path / "a", ARCHIVE_BODY="verbatim")
        assert result.returncode == 0, result.stderr[-3000:]
    name = (CHINA_DIR / post_filename(golden.meta["title"])).as_posix()
    assert posts_under(tmp_path / "a") == {name: golden.expected}


def test_bad_roll_answers_are_counted_and_the_crawl_goes_on(tmp_path):
    """One roll item a page (num=1): page 1 of each channel answers badly, page 2 is fine."""
    envelope = {"result": {"status": {"code": 0, "msg": "succ"}, "total": 2, "data": []}}
    with MockSina() as server:
        good = {}
        for lid, index in ((1686, 0), (1687, 1), (1688, 2), (1689, 3), (1690, 4)):
            # Page 1 is answered by set_roll_raw below; page 2 serves the second item.
            good[lid] = serve(server, [90 + index, index], 155, lid)[1]
        jsonp = json.dumps({"result": {**envelope["result"], "data": [good[1686]]}})
        server.set_roll_raw(
            155,
            1686,
            1,
            f"try{{jQuery1_2({jsonp});}}catch(e){{}};",
            content_type="application/javascript",
        )
        server.set_roll(155, 1686, [])
        server.set_roll_raw(
            155, 1687, 1, json.dumps({"result": {"status": {"code": 1, "msg": "x"}}})
        )
        server.set_roll_raw(
            155, 1688, 1, "<html><body>502 Bad Gateway</body></html>", content_type="text/html"
        )
        server.set_roll_raw(155, 1689, 1, json.dumps(envelope)[:40])
        extra = server.add_article(synthetic_article(5))
        weird = [
            {**extra, "img": []},
            {**extra, "img": {}},  # duplicate
            {k: v for k, v in good[1690].items() if k != "url"},
            {**good[1690], "title": ""},
        ]
        server.set_roll_raw(
            155,
            1690,
            1,
            json.dumps(
                {"result": {"status": {"code": "0"}, "total": "4", "data": weird}},
                ensure_ascii=False,
            ),
        )
        result = run_crawl(
            server.base_url,
            tmp_path / "a",
            "-a",
            "channels=china,macro,regional,ministries,finance_news",
            "-a",
            "pages=2",
            "-a",
            "num=1",
        )
        assert result.returncode == 0, result.stderr[-3000:]
    stats = result.stats
    assert stats["sina/roll/failed/status_code"] == 1
    assert stats["sina/roll/failed/not_json"] == 1
    assert stats["sina/roll/failed/bad_json"] == 1
    assert stats["sina/dropped/roll_no_url"] == 1
    assert stats["sina/dropped/roll_no_title"] == 1
    assert stats["sina/dropped/duplicate"] == 1
    titles = set().union(*titles_by_folder(tmp_path / "a").values())
    assert titles == {good[lid]["title"] for lid in good} | {extra["title"]}
    assert "Traceback" not in result.stderr


def test_bad_article_pages_are_counted_and_the_crawl_goes_on(tmp_path):
    golden = GOLDENS[2]
    base = golden.meta["url"].rsplit("/", 1)[0]
    urls = {
        name: f"{base}/doc-i{name[:7]:x<7}{i:07d}.shtml"
        for i, name in enumerate(
            ["gone404", "gone410", "moved", "truncated", "huge", "notitle", "nobody"]
        )
    }
    video = "https://video.sina.com.cn/p/finance/2021-12-13/detail-ilasorkf0000001.d.html"
    slide = "https://slide.finance.sina.com.cn/gncj/slide_31_1_1.html"
    live = "https://finance.sina.com.cn/zhibo/2021-12-13/doc-ilasorkf0000002.shtml"
    with MockSina() as server:
        server.add_page(golden.meta["url"], golden.page)
        server.add_page(urls["gone404"], "<html>404</html>", status=404)
        server.add_page(urls["gone410"], "<html>410</html>", status=410)
        server.add_redirect(urls["moved"], "https://finance.sina.com.cn/china/")
        server.add_page("https://finance.sina.com.cn/china/", "<html><body>频道首页</body></html>")
        server.add_page(urls["truncated"], golden.page[: len(golden.page) // 2])
        server.add_page(urls["huge"], golden.page.replace("</body>", "x" * 300_000 + "</body>"))
        no_title = golden.page.replace('<h1 class="main-title">', '<h1 class="x">').replace(
            'property="og:title"', 'property="og:x"'
        )
        server.add_page(urls["notitle"], no_title)
        start = golden.page.index('id="artibody"')
        start = golden.page.index(">", start) + 1
        end = golden.page.index("<!-- 原始正文end -->")
        server.add_page(urls["nobody"], golden.page[:start] + "\n</div>\n" + golden.page[end:])
        roll = (
            [golden.item]
            + [
                {**golden.item, "url": url, "title": f"坏页面{name}", "docid": f"comos:{name}"}
                for name, url in urls.items()
                if name != "notitle"
            ]
            + [{**golden.item, "url": u, "title": "非文章"} for u in (video, slide, live)]
        )
        server.set_roll(155, 1686, roll)
        archive = tmp_path / "a"
        result = run_crawl(server.base_url, archive, DOWNLOAD_MAXSIZE=200_000)
        assert result.returncode == 0, result.stderr[-3000:]
        for url in (video, slide, live):
            assert server.count(url) == 0
        explicit = run_crawl(server.base_url, archive, "-a", f"urls={urls['notitle']}")
        assert explicit.returncode == 0
    stats = result.stats
    assert stats["sina/dropped/dead_link"] == 2
    assert stats["sina/failed/too_large"] == 1
    assert stats["sina/dropped/not_article_page"] == 1
    assert stats["sina/dropped/truncated"] == 1
    assert stats["sina/dropped/no_body"] == 1
    assert stats["sina/dropped/not_article"] == 3
    assert stats["archive/written"] == 1
    assert explicit.stats["sina/dropped/no_title"] == 1
    assert list(posts_under(archive)) == [
        (CHINA_DIR / post_filename(golden.meta["title"])).as_posix()
    ]
    assert "Traceback" not in result.stderr + explicit.stderr


TEMPLATE_PAGES = {
    "finance_money_forex_doc-ifxsktkp9337164_2016_raw": "legacy",
    "finance_roll_doc-ihqfskcn2160999_2018_gne-rendered": "finance",
    "finance_sina_cn_mobile_detail-ikknscsi2623250_raw": "mobile",
    "news_c_doc-iihnzahi3275702_2019_gne-rendered": "news",
    "news_c_doc-inausehc2630922_2024_rendered": "news",
}


def test_every_template_is_archived(tmp_path):
    urls = []
    with MockSina() as server:
        for name in TEMPLATE_PAGES:
            expected = json.loads((DATA / "pages" / name / "expected.json").read_text("utf-8"))
            url = expected["canonical_url"].replace("http://", "https://")
            server.add_page(url, (DATA / "pages" / name / expected["file"]).read_bytes())
            urls.append((url, expected))
        generic = "https://finance.sina.com.cn/other/2024-01-01/plain-page.shtml"
        paragraphs = "".join(
            f"<p>第{i}段：这是一段足够长的正文内容，用来让通用提取器认出正文。</p>"
            for i in range(12)
        )
        server.add_page(
            generic,
            f"<html><head><title>通用页面</title><meta property='article:published_time' "
            f"content='2024-01-01T08:00:00+08:00'></head><body><h1>通用页面标题</h1>"
            f"<div class='content'>{paragraphs}</div></body></html>",
        )
        result = run_crawl(
            server.base_url,
            tmp_path / "a",
            "-a",
            "urls=" + ",".join([u for u, _ in urls] + [generic]),
        )
        assert result.returncode == 0, result.stderr[-3000:]
    stats = result.stats
    assert stats["archive/written"] == len(TEMPLATE_PAGES) + 1
    for template in set(TEMPLATE_PAGES.values()) | {"generic"}:
        assert stats[f"sina/template/{template}"] == (
            list(TEMPLATE_PAGES.values()).count(template) or 1
        )
    posts = {
        read_front_matter(d.decode())["title"]: d.decode()
        for d in posts_under(tmp_path / "a").values()
    }
    for _url, expected in urls:
        post = posts[expected["title"]]
        assert expected["first_paragraph"][:15] in post
        published = datetime.fromisoformat(expected["published_at"])
        from newsspider.sina.dates import rfc1123

        assert f"\ndate: {rfc1123(published)}\n" in post
    assert "通用页面标题" in posts
    assert stats["sina/template/generic/pages"] == 1  # counted for the drift check, no log line
