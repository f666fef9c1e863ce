"""End to end, as an attacker and a tired operator would try it: URL tricks that would reach
another host, one article under many URLs, redirect loops, oversized pages without a length,
broken text, a bug in a callback or a pipeline, and `-a until` on an empty archive."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from newsspider.failures import OffSiteRequest
from newsspider.mirror import MirrorDownloadHandler

from faults import NoNetworkHandler
from utils.archive import posts_under
from utils.content import GOLDENS
from utils.crawl import CrawlResult, audit, run_crawl
from utils.mocksina import MockSina
from utils.steps import completed

pytestmark = pytest.mark.e2e


class Trap:
    """A TCP port on 127.0.0.1 that nothing may ever connect to."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def __enter__(self) -> Trap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def doc_url(doc: str, section: str = "china") -> str:
    return f"https://finance.sina.com.cn/{section}/2021-12-13/doc-i{doc}.shtml"


def roll_item(url: str, title: str, intime: int = 1639380850) -> dict[str, str]:
    return {**GOLDENS[0].item, "url": url, "title": title, "docid": "", "intime": str(intime)}


def trick_urls(port: int) -> list[str]:
    """URLs whose text mentions Sina but whose request would go to 127.0.0.1:port."""
    return [
        f"http://127.0.0.1:{port}\\@finance.sina.com.cn/china/doc-iaaaaaaa0000001.shtml",
        f"http://127.0.0.1:{port}\\.sina.com.cn/china/doc-iaaaaaaa0000002.shtml",
        f"http://127.0.0.1:{port}/finance.sina.com.cn/china/doc-iaaaaaaa0000003.shtml",
        f"http://finance.sina.com.cn@127.0.0.1:{port}/china/doc-iaaaaaaa0000004.shtml",
        f"http://127\u30020\u30020\u30021:{port}/.sina.com.cn/doc-iaaaaaaa0000005.shtml",
        f"http://127.0.0.1:{port}#.sina.com.cn/doc-iaaaaaaa0000006.shtml",
        f"http://127.0.0.1:{port}?.sina.com.cn/doc-iaaaaaaa0000007.shtml",
        f"http://localhost:{port}/.sina.com.cn/doc-iaaaaaaa0000008.shtml",
        f"http://finance.sina.com.cn:{port}/china/doc-iaaaaaaa0000009.shtml",
        f"http://127%2E0%2E0%2E1:{port}/.sina.com.cn/doc-iaaaaaaa0000010.shtml",
        f"http://finance.sina.com.cn.127.0.0.1.nip.io:{port}/doc-iaaaaaaa0000011.shtml",
    ]


def test_nothing_but_sina_is_ever_contacted(tmp_path):
    golden = GOLDENS[0]
    with Trap() as trap, MockSina() as server:
        server.add_page(golden.meta["url"], golden.page)
        redirected, refreshed, via_mirror = (doc_url(f"rrrrrrr000000{i}") for i in range(1, 4))
        server.add_redirect(redirected, f"http://127.0.0.1:{trap.port}/stolen.shtml")
        server.add_redirect(via_mirror, f"https://127.0.0.1:{trap.port}/x.shtml", status=301)
        refresh = (
            f'<html><head><meta http-equiv="refresh" content="0;url=http://127.0.0.1:'
            f'{trap.port}/x"></head><body>moved</body></html>'
        )
        server.add_page(refreshed, refresh)
        tricks = trick_urls(trap.port)
        odd = [  # values of the wrong type or size cost their item only
            roll_item("https://exa[mple.sina.com.cn/doc-iooooooo0000001.shtml", "方括号"),
            {**roll_item(doc_url("ooooooo0000002"), "大数"), "intime": "9" * 400},
            {**roll_item(doc_url("ooooooo0000003"), "列表"), "title": ["不是", "字符串"]},
        ]
        server.add_page(doc_url("ooooooo0000002"), GOLDENS[3].page)
        server.set_roll(
            155,
            1686,
            [golden.item, *odd]
            + [roll_item(url, f"把戏{i}") for i, url in enumerate(tricks)]
            + [roll_item(u, f"跳转{i}") for i, u in enumerate((redirected, refreshed, via_mirror))],
        )
        # The next channel's first page is JSON nested 100,000 deep, its second a bad status
        # code of 400 digits: each costs that page; the third channel is still read.
        server.set_roll_raw(155, 1687, 1, "[" * 100_000 + "]" * 100_000)
        server.set_roll_raw(155, 1687, 2, json.dumps({"result": {"status": {"code": "9" * 400}}}))
        server.add_page(GOLDENS[4].meta["url"], GOLDENS[4].page)
        server.set_roll(155, 1688, [GOLDENS[4].item])
        archive = tmp_path / "a"
        result = run_crawl(
            server.base_url, archive, "-a", "channels=china,macro,regional", "-a", "pages=2"
        )
        explicit = run_crawl(server.base_url, tmp_path / "b", "-a", "urls=" + ",".join(tricks))
    assert trap.connections == 0
    assert result.returncode == 0, result.stderr[-3000:]
    stats = result.stats
    assert stats["sina/dropped/roll_off_site_url"] == len(tricks)
    assert stats["sina/dropped/roll_bad_url"] == 1  # the host with "["
    assert stats["sina/dropped/roll_no_title"] == 1
    assert stats["sina/dropped/redirected_off_site"] == 3
    assert stats["sina/roll/failed/bad_json"] == 1 and stats["sina/roll/failed/status_code"] == 1
    assert stats["archive/new"] == 3  # the golden, the 400-digit intime, the next channel's
    assert len(posts_under(archive)) == 3
    refused = {e["url"]: e["reason"] for e in result.report["not_archived"]}
    assert refused[redirected] == refused[refreshed] == "redirected_off_site"
    # -a urls: the whole list is refused before anything is fetched.
    assert explicit.returncode == 2
    assert "not a Sina URL, refused" in explicit.stderr
    assert "Traceback" not in result.stderr + explicit.stderr


def crawl_lines(result: CrawlResult, url: str) -> list[str]:
    """The log lines at WARNING or above that name ``url``."""
    return [
        line
        for line in result.stderr.splitlines()
        if url in line and (" WARNING: " in line or " ERROR: " in line)
    ]


def test_one_article_one_post_and_every_loss_counted_once(tmp_path):
    golden = GOLDENS[1]
    doc = golden.meta["docid"].split(":")[1]
    canonical = golden.meta["url"]
    aliases = [
        canonical.replace("/china/", "/roll/"),
        canonical + "?from=wap#top",
        canonical.replace("https://", "http://"),
    ]
    loop, loop2, huge, broken = (doc_url(f"lllllll000000{i}") for i in range(1, 5))
    surrogate = doc_url(f"sssssss{'0' * 7}")
    with MockSina() as server:
        server.add_page(canonical, golden.page)
        for alias in aliases[:1]:
            server.add_page(alias, golden.page)
        server.add_redirect(loop, loop)  # A -> A
        server.add_redirect(loop2, loop2 + "?x=1")  # A -> A?x -> A: the mock ignores queries
        server.add_page(
            huge, golden.page.replace("</body>", "x" * 400_000 + "</body>"), chunked=True
        )
        server.add_page(broken, "<html>busy</html>", status=503)
        surrogate_page = golden.page.replace(golden.meta["title"], "半个字")
        server.add_page(surrogate, surrogate_page.replace(doc, "sssssss0000000"))
        items = [roll_item(canonical, golden.meta["title"])]
        items += [roll_item(alias, golden.meta["title"]) for alias in aliases]
        items += [roll_item(u, f"失败{i}") for i, u in enumerate((loop, loop2, huge, broken))]
        items.append(roll_item(surrogate, "半个\ud83d字"))
        envelope = {"result": {"status": {"code": 0, "msg": "succ"}, "data": items}}
        server.set_roll_raw(155, 1686, 1, json.dumps(envelope))  # \ud83d stays an escape
        server.set_roll(155, 1687, [roll_item(aliases[0], golden.meta["title"])])  # macro
        archive = tmp_path / "a"
        result = run_crawl(
            server.base_url,
            archive,
            "-a",
            "channels=china,macro",
            DOWNLOAD_MAXSIZE=200_000,
            RETRY_TIMES=1,
            RUN_MAX_ERRORS=10,
            RUN_MAX_ERROR_RATIO=1,
            REPORT_KEEP=1,
        )
        # The article again, listed under yet another path: known by its docid, not fetched.
        moved = {
            "result": {
                "status": {"code": 0},
                "data": [roll_item(canonical.replace("/china/", "/jjxw/"), "x")],
            }
        }
        server.set_roll_raw(155, 1686, 1, json.dumps(moved))
        server.requests.clear()
        again = run_crawl(server.base_url, archive, REPORT_KEEP=1)
        assert server.count(canonical.replace("/china/", "/jjxw/")) == 0
    assert result.returncode == 0, result.stderr[-3000:]
    stats = result.stats
    assert stats["archive/new"] == 2  # the article and the one with the repaired title
    assert stats["sina/dropped/duplicate"] == 4  # three aliases and the other channel
    assert stats["sina/dropped/redirect_loop"] == 2
    assert stats["sina/failed/too_large"] == 1
    assert stats["sina/failed/http_503"] == 1
    assert stats["sina/roll/repaired"] == 1
    posts = posts_under(archive)
    assert len(posts) == 2, sorted(posts)
    assert any("半个\ufffd字" in data.decode() for data in posts.values())
    for url in (broken, huge):  # one line per failed request, not Scrapy's and ours
        assert len(crawl_lines(result, url)) == 1, crawl_lines(result, url)
    assert "Traceback" not in result.stderr
    report = result.report
    assert report["exit_code"] == 0 and report["outcome"] == "finished"
    assert report["arguments"] == {"channels": "china,macro"}
    assert report["settings"]["DOWNLOAD_MAXSIZE"] == "200000"  # as given
    assert report["dropped"]["redirect_loop"] == 2 and report["failed"]["too_large"] == 1
    reasons = {e["url"]: e["reason"] for e in report["not_archived"]}
    assert reasons[loop] == reasons[loop2] == "redirect_loop"
    assert reasons[huge] == "too_large" and reasons[broken] == "http_503"
    assert again.returncode == 0 and "archive/new" not in again.stats
    assert len(list((archive / ".newsspider" / "runs").glob("*.json"))) == 1  # REPORT_KEEP=1
    assert audit(archive)[0] == 0


def faulty_crawl(mirror: str, archive: Path) -> CrawlResult:
    """``sina_finance_faulty`` (tests/faults.py) with the faulty pipeline ahead of the others."""
    pipelines = {
        "tests.faults.FaultyPipeline": 50,
        "newsspider.pipelines.normalize.NormalizePipeline": 100,
        "newsspider.pipelines.archive.ArchiveWriterPipeline": 800,
    }
    return run_crawl(
        mirror,
        archive,
        spider="sina_finance_faulty",
        SPIDER_MODULES="newsspider.spiders,tests.faults",
        ITEM_PIPELINES=json.dumps(pipelines),
    )


def test_a_bug_in_a_callback_or_a_pipeline_fails_the_run_and_costs_one_article(tmp_path):
    with MockSina() as server:
        urls = [GOLDENS[i].meta["url"] for i in range(3)]
        urls[1] = urls[1].replace("/china/", "/boom-callback/")
        urls[2] = urls[2].replace("/china/", "/boom-pipeline/")
        for i, url in enumerate(urls):
            server.add_page(url, GOLDENS[i].page)
        server.set_roll(
            155, 1686, [roll_item(u, GOLDENS[i].meta["title"]) for i, u in enumerate(urls)]
        )
        result = faulty_crawl(server.base_url, tmp_path / "a")
    assert result.returncode == 70, result.stderr[-3000:]
    assert result.stats["sina/failed/internal_error"] == 2
    assert result.stats["archive/new"] == 1
    assert result.report["exit_code"] == 70 and result.report["outcome"] == "internal error"
    failed = {e["url"] for e in result.report["not_archived"] if e["reason"] == "internal_error"}
    assert failed == {urls[1], urls[2]}
    assert result.stderr.count("Traceback") == 2  # logged once each, with what to report
    assert "Error processing " + urls[2] in result.stderr


def test_until_alone_on_an_empty_archive_reads_back_to_the_window(tmp_path):
    golden = GOLDENS[0]
    with MockSina() as server:
        items = []
        for i in range(120):  # one a minute, newest first
            url = doc_url(f"uuuuuuu{i:07d}")
            server.add_page(url, golden.page.replace(golden.meta["title"], f"第{i}篇"))
            items.append(roll_item(url, f"第{i}篇", intime=1_700_000_000 - 60 * i))
        server.set_roll(155, 1686, items)
        # Items 0..59 are newer than until: pages 1 (0..49) and 2 (50..99) hold the window's
        # first entries on page 2.
        until = "2023-11-15T05:14"  # Beijing; item 59 is at 05:14:20, item 60 at 05:13:20
        result = run_crawl(server.base_url, tmp_path / "a", "-a", "num=50", "-a", f"until={until}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "newer than -a until; reading on" in result.stderr
    assert result.stats["sina/roll/pages"] == 2
    assert result.stats["archive/new"] == 40  # items 60..99 of page 2


def test_the_download_handler_refuses_any_other_host(tmp_path):
    for mirror in ("", "http://127.0.0.1:1"):
        crawler = get_crawler(
            settings_dict={
                "SINA_MIRROR": mirror,
                "SINA_MIRROR_INNER_HANDLER": "faults.NoNetworkHandler",
            }
        )
        handler = MirrorDownloadHandler(crawler)
        for url in (
            "http://127.0.0.1:9/robots.txt",
            "https://evil.example/robots.txt",
            "https://finance.sina.com.cn:8443/robots.txt",
            "https://a@finance.sina.com.cn/x.shtml",
        ):
            with pytest.raises(OffSiteRequest):
                completed(handler.download_request(Request(url)))
    assert NoNetworkHandler.calls == []
    assert crawler.stats.get_value("sina/refused/off_site") == 4
