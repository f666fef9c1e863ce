"""Pipelines and the exporter, built from a crawler the way Scrapy builds them."""

import hashlib
import io
import os
from datetime import UTC, datetime

import pytest
from parsel import Selector
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newsspider.archive.files import write_atomic
from newsspider.archive.front_matter import read_front_matter
from newsspider.archive.naming import post_filename
from newsspider.config import ConfigError, parse_mirror, validate_settings
from newsspider.exporters import HexoPostExporter, render_post
from newsspider.extensions.archive import CrawlArchive
from newsspider.items import ArticleItem, article_item
from newsspider.pipelines.archive import ArchiveWriterPipeline
from newsspider.pipelines.body import BodyPipeline
from newsspider.pipelines.normalize import NormalizePipeline
from newsspider.sina.article import parse_article
from newsspider.sina.roll import parse_entry
from newsspider.spiders.sina_finance import SinaFinanceSpider

from utils.archive import CHINA_DIR
from utils.content import GOLDENS
from utils.steps import completed


def make_crawler(tmp_path, **settings):
    merged = {
        "ARCHIVE_DIR": str(tmp_path),
        "ARCHIVE_BODY": "verbatim",
        "ARCHIVE_AUTHOR": "site",
        # The crawl's shared objects, as the project's settings enable them.
        "EXTENSIONS": {"newsspider.extensions.archive.CrawlArchive": 410},
    }
    merged.update(settings)
    return get_crawler(SinaFinanceSpider, merged)


_OPEN_CHAINS = []


@pytest.fixture(autouse=True)
def _close_chains():
    yield
    while _OPEN_CHAINS:
        chain = _OPEN_CHAINS.pop()
        chain.stages[-1].close_spider()
        CrawlArchive.of(chain.crawler).close()  # what the spider_closed signal does in a crawl


class Chain:
    """The item pipelines in their ITEM_PIPELINES order (closed when the test ends)."""

    def __init__(self, crawler):
        _OPEN_CHAINS.append(self)
        self.crawler = crawler
        self.stages = [
            NormalizePipeline.from_crawler(crawler),
            BodyPipeline.from_crawler(crawler),
            ArchiveWriterPipeline.from_crawler(crawler),
        ]
        self.stages[-1].open_spider()

    def run(self, item):
        try:
            for stage in self.stages:
                item = completed(stage.process_item(item))
        finally:
            self.stages[-1].index.commit()  # what the next Chain on this archive reads
        return item

    def stat(self, key):
        return self.crawler.stats.get_value(key)


def golden_item(golden, **changes):
    entry = parse_entry(golden.item)
    assert not isinstance(entry, str)
    item = article_item(parse_article(Selector(text=golden.page)), "china", entry.url, entry)
    for key, value in changes.items():
        setattr(item, key, value)
    return item


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_golden_item_becomes_the_golden_post(tmp_path, golden):
    chain = Chain(make_crawler(tmp_path))
    item = chain.run(golden_item(golden))
    path = tmp_path / item.post_path
    assert path.parent == tmp_path / CHINA_DIR
    assert path.name == post_filename(golden.meta["title"])
    assert path.read_bytes() == golden.expected
    assert chain.stat("archive/written") == 1
    assert render_post(item).encode() == golden.expected


def test_rerun_writes_the_same_bytes_and_touches_nothing(tmp_path):
    golden = GOLDENS[0]
    first = Chain(make_crawler(tmp_path)).run(golden_item(golden))
    path = tmp_path / first.post_path
    os.utime(path, (1, 1))
    chain = Chain(make_crawler(tmp_path))
    second = chain.run(golden_item(golden))
    assert second.post_path == first.post_path
    assert path.stat().st_mtime == 1
    assert chain.stat("archive/unchanged") == 1
    assert chain.stat("archive/written") is None
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_two_articles_with_one_title_never_overwrite_each_other(tmp_path):
    golden = GOLDENS[2]
    chain = Chain(make_crawler(tmp_path))
    first = chain.run(golden_item(golden))
    other_url = golden.meta["url"].replace("lasorkf8164852", "lasorkf0000000")
    second = chain.run(
        golden_item(
            golden,
            url=other_url,
            docid="comos:lasorkf0000000",
            listed_at=datetime(2022, 1, 1, tzinfo=UTC),
        )
    )
    assert first.post_path != second.post_path
    assert second.post_path.endswith("-lasorkf0000000.md")
    assert (tmp_path / first.post_path).read_bytes() == golden.expected
    # A later run keeps the same assignment: the plain name holds the first article.
    again = Chain(make_crawler(tmp_path))
    assert again.run(golden_item(golden)).post_path == first.post_path
    assert (
        again.run(
            golden_item(
                golden,
                url=other_url,
                docid="comos:lasorkf0000000",
                listed_at=datetime(2022, 1, 1, tzinfo=UTC),
            )
        ).post_path
        == second.post_path
    )


def test_existing_post_of_the_same_article_is_updated_in_place(tmp_path):
    golden = GOLDENS[2]
    folder = tmp_path / CHINA_DIR
    folder.mkdir(parents=True)
    stale = golden.expected.replace(b"</p>", b"</p>\n", 1)
    (folder / post_filename(golden.meta["title"])).write_bytes(stale)
    chain = Chain(make_crawler(tmp_path))
    item = chain.run(golden_item(golden))
    assert item.post_path == (CHINA_DIR / post_filename(golden.meta["title"])).as_posix()
    assert (tmp_path / item.post_path).read_bytes() == golden.expected
    assert chain.stat("archive/written") == 1


def test_existing_post_of_another_article_is_kept(tmp_path):
    golden = GOLDENS[2]
    folder = tmp_path / CHINA_DIR
    folder.mkdir(parents=True)
    other = golden.expected.replace(b"07:34:10 GMT", b"08:00:00 GMT")
    (folder / post_filename(golden.meta["title"])).write_bytes(other)
    item = Chain(make_crawler(tmp_path)).run(golden_item(golden))
    assert item.post_path.endswith("-lasorkf8164852.md")
    assert (folder / post_filename(golden.meta["title"])).read_bytes() == other


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"roll_title": None, "page_title": None}, "no_title"),
        ({"roll_title": "  ", "page_title": "\u3000"}, "no_title"),
        ({"body_html": None}, "no_body"),
        ({"body_html": "<!-- nothing --><script>x()</script>"}, "no_body"),
        ({"listed_at": None, "published_at": None, "displayed_at": None}, "no_date"),
    ],
)
def test_drops_are_counted_with_reason(tmp_path, changes, reason):
    chain = Chain(make_crawler(tmp_path))
    with pytest.raises(DropItem, match=reason):
        chain.run(golden_item(GOLDENS[0], **changes))
    assert chain.stat(f"sina/dropped/{reason}") == 1
    assert not list(tmp_path.rglob("*.md"))


def test_page_title_and_date_are_fallbacks(tmp_path):
    published = datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC)
    item = Chain(make_crawler(tmp_path)).run(
        golden_item(GOLDENS[2], roll_title=None, listed_at=None, published_at=published)
    )
    assert item.title == GOLDENS[2].meta["title"]
    assert item.date == published


def test_author_can_be_the_article_source(tmp_path):
    chain = Chain(make_crawler(tmp_path, ARCHIVE_AUTHOR="source"))
    item = chain.run(golden_item(GOLDENS[2]))
    assert item.author == "工信部网站"
    assert "\nauthor: 工信部网站\n" in (tmp_path / item.post_path).read_text()


def test_clean_mode_shares_the_front_matter(tmp_path):
    golden = GOLDENS[2]
    item = Chain(make_crawler(tmp_path, ARCHIVE_BODY="clean")).run(golden_item(golden))
    text = (tmp_path / item.post_path).read_text()
    front = golden.expected.decode().split("\n---\n")[1]
    assert text.split("\n---\n")[1] == front
    assert text.endswith("\n</div>\n")


def test_exporter_writes_one_post_per_item():
    golden = GOLDENS[0]
    item = golden_item(
        golden,
        title=golden.meta["title"],
        date=datetime.fromtimestamp(golden.meta["intime"], UTC),
        categories=["金融", "新浪财经", "新浪财经－国內"],
        author="新浪财经",
        headimg="",
        body="\n<div>\nB\n</div>\n",
    )
    buffer = io.BytesIO()
    exporter = HexoPostExporter(buffer)
    exporter.start_exporting()
    exporter.export_item(item)
    exporter.finish_exporting()
    assert buffer.getvalue().startswith(b"\n---\ntitle: '")
    with pytest.raises(ValueError, match="not normalized"):
        render_post(ArticleItem("u", "china", None, None, None, None, None, None, None, None, None))


def test_atomic_write_never_leaves_a_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "post.md"
    assert write_atomic(target, b"old") is True
    assert write_atomic(target, b"old") is False

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_atomic(target, b"new content")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["post.md"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ARCHIVE_BODY": "pretty"}, "ARCHIVE_BODY"),
        ({"ARCHIVE_AUTHOR": "me"}, "ARCHIVE_AUTHOR"),
        ({"ARCHIVE_DIR": ""}, "ARCHIVE_DIR"),
        ({"SINA_MIRROR": "127.0.0.1:8000"}, "SINA_MIRROR"),
        ({"SINA_MIRROR": "ftp://x"}, "SINA_MIRROR"),
    ],
)
def test_bad_settings_are_rejected_with_a_clear_message(tmp_path, settings, message):
    crawler = make_crawler(tmp_path, **settings)
    with pytest.raises(ConfigError, match=message):
        validate_settings(crawler.settings)


def test_mirror_setting_is_normalized():
    assert parse_mirror(" http://127.0.0.1:8000/ ") == "http://127.0.0.1:8000"
    assert parse_mirror("") == ""
    assert parse_mirror(None) == ""


def test_one_docid_under_three_urls_is_one_post(tmp_path):
    golden = GOLDENS[2]
    chain = Chain(make_crawler(tmp_path))
    first = chain.run(golden_item(golden))
    for url in (
        golden.meta["url"].replace("/china/", "/roll/"),
        golden.meta["url"].replace("/china/", "/jjxw/"),
    ):
        again = chain.run(golden_item(golden, url=url))
        assert again.post_path == first.post_path
    assert len(list((tmp_path / CHINA_DIR).iterdir())) == 1
    index = chain.stages[-1].index
    assert index.count() == 1
    assert index.get(golden.meta["url"]) is not None


def test_a_title_equal_to_another_articles_disambiguated_name_gets_its_own_file(tmp_path):
    golden = GOLDENS[2]
    title, other_id = golden.meta["title"], "lasorkf0000000"
    other_url = golden.meta["url"].replace("lasorkf8164852", other_id)
    third_url = golden.meta["url"].replace("lasorkf8164852", "lasorkf1111111")
    chain = Chain(make_crawler(tmp_path))
    # The article titled "<title>-<id>" comes first and takes the plain name ...
    squatter = chain.run(
        golden_item(golden, url=third_url, docid=None, roll_title=f"{title}-{other_id}")
    )
    first = chain.run(golden_item(golden))
    # ... so the second article of <title> must not get "<title>-<id>.md" as well.
    second = chain.run(golden_item(golden, url=other_url, docid=f"comos:{other_id}"))
    paths = [squatter.post_path, first.post_path, second.post_path]
    assert len(set(paths)) == 3, paths
    assert second.post_path.endswith(f"-{other_id}-2.md")
    for item in (squatter, first, second):
        data = (tmp_path / item.post_path).read_bytes()
        assert read_front_matter(data.decode())["title"] == item.title


def shared_path_archive(tmp_path):
    """An index an earlier version wrote: two articles at one path (the second overwrote the
    first, whose bytes went to history), and one article under two URLs."""
    from newsspider.archive.history import keep_version
    from newsspider.archive.index import ArchiveIndex, IndexRow

    folder = tmp_path / CHINA_DIR
    folder.mkdir(parents=True)
    shared = (CHINA_DIR / "同名.md").as_posix()
    old, new = (
        b"\n---\ntitle: '\xe5\x90\x8c\xe5\x90\x8d'\n---\nold\n",
        b"\n---\ntitle: x\n---\nnew\n",
    )
    (tmp_path / shared).write_bytes(new)
    keep_version(tmp_path, shared, old)
    twice = (CHINA_DIR / "twice.md").as_posix()
    (tmp_path / twice).write_bytes(b"\n---\ntitle: twice\n---\nB\n")

    def row(url, docid, path, data, first):
        return IndexRow(
            url,
            docid,
            "china",
            path,
            hashlib.sha256(data).hexdigest(),
            "同名",
            1,
            1,
            None,
            None,
            first,
            first,
        )

    index = ArchiveIndex(tmp_path)
    index.put(
        row(
            "https://finance.sina.com.cn/a/doc-iaaaaaaa0000001.shtml",
            "comos:aaaaaaa0000001",
            shared,
            old,
            "2024-01-01T00:00:00+00:00",
        )
    )
    index.put(
        row(
            "https://finance.sina.com.cn/a/doc-ibbbbbbb0000002.shtml",
            "comos:bbbbbbb0000002",
            shared,
            new,
            "2024-01-02T00:00:00+00:00",
        )
    )
    index.put(
        row(
            "https://finance.sina.com.cn/a/doc-icccccccc000003.shtml?from=wap",
            "comos:cccccccc000003",
            twice,
            b"\n---\ntitle: twice\n---\nB\n",
            "2024-01-03T00:00:00+00:00",
        )
    )
    index.put(
        row(
            "https://finance.sina.com.cn/b/doc-icccccccc000003.shtml",
            "comos:cccccccc000003",
            (CHINA_DIR / "twice-a.md").as_posix(),
            b"A",
            "2024-01-02T12:00:00+00:00",
        )
    )
    (tmp_path / CHINA_DIR / "twice-a.md").write_bytes(b"A")
    index.close()
    return shared, old, new


def test_an_index_with_shared_posts_is_repaired_at_start(tmp_path):
    from newsspider.archive.audit import audit
    from newsspider.archive.index import ArchiveIndex

    shared, old, new = shared_path_archive(tmp_path)
    crawler = make_crawler(tmp_path)
    writer = ArchiveWriterPipeline.from_crawler(crawler)
    writer.open_spider()
    writer.close_spider()
    CrawlArchive.of(crawler).close()
    assert crawler.stats.get_value("archive/repaired") >= 3
    index = ArchiveIndex(tmp_path)
    try:
        first = index.get("https://finance.sina.com.cn/a/doc-iaaaaaaa0000001.shtml")
        second = index.get("https://finance.sina.com.cn/a/doc-ibbbbbbb0000002.shtml")
        assert second.path == shared and (tmp_path / shared).read_bytes() == new
        assert first.path != shared and (tmp_path / first.path).read_bytes() == old
        # One article, one row: the earliest (the one at twice-a.md), under its canonical URL.
        [kept] = [r for r in index.rows() if r.docid == "comos:cccccccc000003"]
        assert kept.url == "https://finance.sina.com.cn/b/doc-icccccccc000003.shtml"
        assert not (tmp_path / CHINA_DIR / "twice.md").exists()
        history = tmp_path / ".newsspider" / "history" / kept.path.removesuffix(".md")
        assert [p.read_bytes() for p in history.iterdir()] == [b"\n---\ntitle: twice\n---\nB\n"]
        report = audit(tmp_path, index)
    finally:
        index.close()
    assert report.unindexed_posts == [] and report.missing_files == []


def test_dropped_items_become_report_examples_of_the_right_kind(tmp_path):
    from newsspider.extensions.outcomes import ArticleOutcomes

    crawler = make_crawler(tmp_path)
    outcomes = ArticleOutcomes(crawler)
    item = golden_item(GOLDENS[0])
    crawler.stats.inc_value("sina/failed/worker_crashed")  # what worker_failure() counts
    outcomes.item_dropped(item, None, DropItem("worker_crashed: worker 12 exited"), None)
    crawler.stats.inc_value("sina/dropped/no_body")
    outcomes.item_dropped(item, None, DropItem("no_body: the page has no article body"), None)
    assert [(e.url, e.kind, e.reason) for e in outcomes.examples] == [
        (item.url, "failed", "worker_crashed"),
        (item.url, "dropped", "no_body"),
    ]
