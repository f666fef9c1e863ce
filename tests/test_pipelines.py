"""The item pipelines and the exporter, built from a crawler the way Scrapy builds them, and
the pure post functions they run."""

import dataclasses
import hashlib
import io
import os
from datetime import UTC, datetime

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newsspider.archive.files import write_atomic
from newsspider.archive.front_matter import read_front_matter
from newsspider.archive.history import Kept, post_versions, version_bytes
from newsspider.archive.lock import ArchiveLockedError
from newsspider.archive.naming import post_filename
from newsspider.archive.pictures import post_images
from newsspider.archive.store import put_post
from newsspider.config import ConfigError, parse_mirror, validate_settings
from newsspider.exitcodes import INTERRUPTED_STAT, verdict
from newsspider.exporters import HexoPostExporter
from newsspider.extensions.archive import CrawlArchive
from newsspider.extensions.outcomes import ArticleOutcomes
from newsspider.failures import NotArchived
from newsspider.items import ArticleCheck
from newsspider.pipelines.archive import ArchiveWriterPipeline
from newsspider.pipelines.normalize import NormalizePipeline
from newsspider.post import AuthorMode, Rejected, build_post, normalize
from newsspider.signals import page_extracted
from newsspider.sina.article import read_article
from newsspider.spiders.sina_finance import SinaFinanceSpider
from newsspider.spiders.sina_refresh import SinaRefreshSpider
from newsspider.workers import WorkerCrashed

from utils.archive import CHINA_DIR
from utils.content import GOLDENS
from utils.items import CLEAN, VERBATIM, fetched
from utils.settings import PROJECT
from utils.steps import completed

OTHER_ID = "lasorkf0000000"


def make_crawler(tmp_path, spidercls=SinaFinanceSpider, **settings):
    merged = {
        **PROJECT,
        "ARCHIVE_DIR": str(tmp_path),
        "ARCHIVE_BODY": "verbatim",
        "WORKER_PROCESSES": 0,
        # Of the crawl's extensions, the archive's owner alone: no crawl runs here.
        "EXTENSIONS": {"newsspider.extensions.archive.CrawlArchive": 410},
    }
    merged.update(settings)
    return get_crawler(spidercls, merged)


_OPEN_CHAINS = []


def _close_all():
    while _OPEN_CHAINS:
        CrawlArchive.of(_OPEN_CHAINS.pop().crawler).close()  # what spider_closed does


@pytest.fixture(autouse=True)
def _close_chains():
    yield
    _close_all()


class Chain:
    """The item pipelines in their ITEM_PIPELINES order, on a new crawl of the archive at
    ``tmp_path``: a crawl before it on the same archive ends first (one run at a time)."""

    def __init__(self, tmp_path, spidercls=SinaFinanceSpider, **settings):
        _close_all()
        self.crawler = make_crawler(tmp_path, spidercls, **settings)
        _OPEN_CHAINS.append(self)
        self.stages = [
            NormalizePipeline.from_crawler(self.crawler),
            ArchiveWriterPipeline.from_crawler(self.crawler),
        ]
        self.stages[-1].open_spider()
        self.index = CrawlArchive.index_of(self.crawler)
        self.outcomes = ArticleOutcomes(self.crawler)

    def run(self, item, stages=None):
        try:
            for stage in stages or self.stages:
                item = completed(stage.process_item(item))
        except DropItem as exc:
            # What Scrapy's item_dropped signal brings the crawl's outcomes.
            self.outcomes.item_dropped(item, None, exc, None)
            raise
        finally:
            self.index.commit()  # what the next Chain on this archive reads
        return item

    def stat(self, key):
        return self.crawler.stats.get_value(key)


def other_article(golden):
    """Another article with ``golden``'s title: its own URL, docid and time."""
    return fetched(
        golden,
        url=golden.url.replace("lasorkf8164852", OTHER_ID),
        docid=f"comos:{OTHER_ID}",
        intime=datetime(2022, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_a_golden_page_becomes_the_golden_post(tmp_path, golden):
    chain = Chain(tmp_path)
    item = chain.run(fetched(golden))
    path = tmp_path / item.post_path
    assert path.parent == tmp_path / CHINA_DIR
    assert path.name == post_filename(golden.meta["title"])
    assert path.read_bytes() == golden.expected
    assert item.post == golden.expected
    assert chain.stat("archive/written") == 1
    assert chain.index.get(item.url).sha256 == hashlib.sha256(golden.expected).hexdigest()


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_build_post_alone_gives_the_golden_post(golden):
    built = build_post(fetched(golden), VERBATIM)
    assert not isinstance(built, Rejected)
    assert built.post == golden.expected
    assert built.title == golden.meta["title"]
    assert built.categories == ("金融", "新浪财经", "新浪财经－国內")
    assert built.post_path is None


def test_the_item_lists_the_pictures_its_post_shows():
    golden = GOLDENS[0]  # 9 pictures in the clean body, the first of them the head image
    item = build_post(fetched(golden), CLEAN)
    assert len(item.images) == 9 and item.images[0] == item.headimg
    assert all(f'src="{url}"' in item.body for url in item.images)
    assert post_images('<img src="data:image/png;base64,AA"><img src="a.jpg">', "") == ()
    assert post_images('<IMG alt="" SRC="https://x/a.jpg?a=1&amp;b=2">', "") == (
        "https://x/a.jpg?a=1&b=2",
    )


def test_rerun_writes_the_same_bytes_and_touches_nothing(tmp_path):
    golden = GOLDENS[0]
    first = Chain(tmp_path).run(fetched(golden))
    path = tmp_path / first.post_path
    os.utime(path, (1, 1))
    chain = Chain(tmp_path)
    second = chain.run(fetched(golden))
    assert second.post_path == first.post_path
    assert path.stat().st_mtime == 1
    assert chain.stat("archive/unchanged") == 1
    assert chain.stat("archive/written") is None
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_two_articles_with_one_title_never_overwrite_each_other(tmp_path):
    golden = GOLDENS[2]
    chain = Chain(tmp_path)
    first = chain.run(fetched(golden))
    second = chain.run(other_article(golden))
    assert first.post_path != second.post_path
    assert second.post_path.endswith(f"-{OTHER_ID}.md")
    assert (tmp_path / first.post_path).read_bytes() == golden.expected
    # A later run keeps the same assignment: the plain name holds the first article.
    again = Chain(tmp_path)
    assert again.run(fetched(golden)).post_path == first.post_path
    assert again.run(other_article(golden)).post_path == second.post_path


def test_existing_post_of_the_same_article_is_updated_in_place(tmp_path):
    golden = GOLDENS[2]
    folder = tmp_path / CHINA_DIR
    folder.mkdir(parents=True)
    stale = golden.expected.replace(b"</p>", b"</p>\n", 1)
    (folder / post_filename(golden.meta["title"])).write_bytes(stale)
    chain = Chain(tmp_path)
    item = chain.run(fetched(golden))
    assert item.post_path == (CHINA_DIR / post_filename(golden.meta["title"])).as_posix()
    assert (tmp_path / item.post_path).read_bytes() == golden.expected
    assert chain.stat("archive/written") == 1
    assert chain.stat("archive/adopted") == 1
    assert chain.stat("archive/history") == 1


def whys(chain, item):
    """The reasons the index records for the versions of ``item``'s post, oldest first."""
    return [version.why for version in chain.index.versions(item.post_path)]


def test_each_version_records_why_the_spider_wrote_it(tmp_path):
    golden = GOLDENS[2]
    first = Chain(tmp_path)
    item = first.run(fetched(golden))
    assert whys(first, item) == ["crawl"]
    first.run(fetched(golden))  # unchanged: no new version
    assert whys(first, item) == ["crawl"]
    refresh = Chain(tmp_path, SinaRefreshSpider, ARCHIVE_BODY="clean")
    assert refresh.run(fetched(golden)).post_path == item.post_path
    assert whys(refresh, item) == ["crawl", "refresh"]
    [replaced, current] = refresh.index.versions(item.post_path)
    assert replaced.kept is not None and current.kept is None
    assert (tmp_path / replaced.kept).read_bytes() == golden.expected


def test_a_write_a_kill_left_unrecorded_is_recorded_by_the_next_run(tmp_path):
    golden = GOLDENS[2]
    first = Chain(tmp_path)
    item = first.run(fetched(golden))
    clean = build_post(fetched(golden), CLEAN).post  # what the killed refresh wrote
    put_post(tmp_path, item.post_path, clean)  # ... before it could record it
    refresh = Chain(tmp_path, SinaRefreshSpider, ARCHIVE_BODY="clean")
    refresh.run(fetched(golden))
    assert refresh.stat("archive/unchanged") == 1
    assert whys(refresh, item) == ["crawl", "refresh"]
    refresh.index.commit()
    versions = post_versions(tmp_path, refresh.index, item.post_path, current_sha256=None)
    assert [(v.why, v.recorded, v.current) for v in versions] == [
        ("crawl", True, False),  # its bytes: the history file the killed write kept
        ("refresh", True, True),
    ]
    assert [version_bytes(tmp_path, v) for v in versions] == [golden.expected, clean]


class NamedReason(SinaFinanceSpider):
    write_reason = "rebuild"


class BadReason(SinaFinanceSpider):
    write_reason = "because"


def test_a_spider_names_its_reason_and_a_bad_one_is_refused(tmp_path):
    chain = Chain(tmp_path, NamedReason)
    assert whys(chain, chain.run(fetched(GOLDENS[0]))) == ["rebuild"]
    _close_all()
    crawler = make_crawler(tmp_path, BadReason)
    try:
        with pytest.raises(ValueError, match=r"BadReason.write_reason = 'because' is not one of"):
            ArchiveWriterPipeline.from_crawler(crawler)
    finally:
        CrawlArchive.of(crawler).close()


def test_an_adopted_post_is_a_version_of_reason_adoption_kept_or_rewritten(tmp_path):
    same, stale = GOLDENS[2], GOLDENS[3]
    folder = tmp_path / CHINA_DIR
    folder.mkdir(parents=True)
    (folder / post_filename(same.meta["title"])).write_bytes(same.expected)
    (folder / post_filename(stale.meta["title"])).write_bytes(stale.expected + b"\nold\n")
    chain = Chain(tmp_path, SinaRefreshSpider)  # whatever the spider, adoption says so
    kept = chain.run(fetched(same))
    rewritten = chain.run(fetched(stale))
    assert chain.stat("archive/adopted") == 2
    assert whys(chain, kept) == ["adoption"]
    assert whys(chain, rewritten) == [None, "adoption"]  # the legacy post: reason unknown
    [legacy, _] = chain.index.versions(rewritten.post_path)
    assert (tmp_path / legacy.kept).read_bytes() == stale.expected + b"\nold\n"
    again = Chain(tmp_path)
    again.run(fetched(same))
    assert whys(again, kept) == ["adoption"]  # known now: nothing more to record


def test_existing_post_of_another_article_is_kept(tmp_path):
    golden = GOLDENS[2]
    folder = tmp_path / CHINA_DIR
    folder.mkdir(parents=True)
    other = golden.expected.replace(b"07:34:10 GMT", b"08:00:00 GMT")
    (folder / post_filename(golden.meta["title"])).write_bytes(other)
    item = Chain(tmp_path).run(fetched(golden))
    assert item.post_path.endswith("-lasorkf8164852.md")
    assert (folder / post_filename(golden.meta["title"])).read_bytes() == other


def _page(golden, **changes):
    return dataclasses.replace(read_article(golden.page.encode(), "utf-8"), **changes)


@pytest.mark.parametrize(
    ("page_changes", "entry_changes", "reason"),
    [
        ({"title": None}, {"title": None}, "no_title"),
        ({"title": "\u3000"}, {"title": "  "}, "no_title"),
        ({"published_at": None, "displayed_at": None}, {"intime": None}, "no_date"),
    ],
)
def test_normalize_rejects_what_has_no_title_or_date(page_changes, entry_changes, reason):
    golden = GOLDENS[0]
    rejected = normalize(
        _page(golden, **page_changes), fetched(golden, **entry_changes), AuthorMode.SITE
    )
    assert isinstance(rejected, Rejected) and rejected.reason == reason
    assert rejected.template == "finance"


def test_page_title_and_date_are_fallbacks():
    golden = GOLDENS[2]
    published = datetime(2021, 12, 13, 7, 34, 10, tzinfo=UTC)
    front = normalize(
        _page(golden, published_at=published),
        fetched(golden, title=None, intime=None),
        AuthorMode.SITE,
    )
    assert not isinstance(front, Rejected)
    assert front.title == golden.meta["title"]
    assert front.date == published


def test_a_page_without_its_body_is_dropped_and_counted(tmp_path):
    golden = GOLDENS[0]
    chain = Chain(tmp_path)
    seen = []

    def on_page(**kwargs):
        seen.append(kwargs)

    chain.crawler.signals.connect(on_page, signal=page_extracted)
    with pytest.raises(DropItem, match="no_body"):
        chain.run(fetched(golden, golden.page.replace('id="artibody"', 'id="x"')))
    assert chain.stat("sina/dropped/no_body") == 1
    assert chain.stat("sina/template/finance") == 1
    assert [(s["url"], s["template"], "body" in s["found"]) for s in seen] == [
        (golden.url, "finance", False)
    ]
    assert not list(tmp_path.rglob("*.md"))
    assert chain.index.count() == 0


def test_every_page_read_is_signalled_with_what_it_gave(tmp_path):
    chain = Chain(tmp_path)
    seen = []

    def on_page(**kwargs):
        seen.append(kwargs)

    chain.crawler.signals.connect(on_page, signal=page_extracted)
    chain.run(fetched(GOLDENS[0]))
    [signal] = seen
    assert signal["template"] == "finance"
    assert set(signal["found"]) >= {"title", "date", "body"}


def test_a_page_nested_too_deep_is_dropped(tmp_path):
    deep = "<html><body>" + "<div>" * 3000 + "x" + "</div>" * 3000 + "</body></html>"
    chain = Chain(tmp_path)
    with pytest.raises(DropItem, match="too_deep"):
        chain.run(fetched(GOLDENS[0], deep))
    assert chain.stat("sina/dropped/too_deep") == 1


def test_a_worker_lost_while_making_the_post_fails_the_article(tmp_path, monkeypatch):
    chain = Chain(tmp_path)

    async def crashed(*args, **kwargs):
        raise WorkerCrashed("worker process 12 exited with status -9")

    monkeypatch.setattr(chain.stages[0].workers, "run", crashed)
    with pytest.raises(DropItem, match="worker_crashed"):
        chain.run(fetched(GOLDENS[0]))
    assert chain.stat("sina/failed/worker_crashed") == 1
    assert chain.index.count() == 0


def test_a_worker_lost_while_writing_leaves_the_article_unindexed(tmp_path, monkeypatch):
    chain = Chain(tmp_path)
    item = chain.run(fetched(GOLDENS[0]), chain.stages[:1])

    async def crashed(*args, **kwargs):
        raise WorkerCrashed("worker process 12 exited with status -9")

    monkeypatch.setattr(chain.stages[1].workers, "run", crashed)
    with pytest.raises(NotArchived, match="worker_crashed") as raised:
        chain.run(item, chain.stages[1:])
    assert raised.value.failed and raised.value.reason == "worker_crashed"
    assert chain.stat("sina/failed/worker_crashed") == 1
    assert [(e.kind, e.reason) for e in chain.outcomes.examples] == [("failed", "worker_crashed")]
    assert chain.index.count() == 0


def test_author_can_be_the_article_source(tmp_path):
    chain = Chain(tmp_path, ARCHIVE_AUTHOR="source")
    item = chain.run(fetched(GOLDENS[2]))
    assert item.author == "工信部网站"
    assert "\nauthor: 工信部网站\n" in (tmp_path / item.post_path).read_text()


def test_clean_mode_shares_the_front_matter(tmp_path):
    golden = GOLDENS[2]
    item = Chain(tmp_path, ARCHIVE_BODY="clean").run(fetched(golden))
    text = (tmp_path / item.post_path).read_text()
    front = golden.expected.decode().split("\n---\n")[1]
    assert text.split("\n---\n")[1] == front
    assert text.endswith("\n</div>\n")
    assert text.endswith(item.body)


def test_checks_pass_through_the_normalization_pipeline_and_are_recorded(tmp_path):
    golden = GOLDENS[0]
    chain = Chain(tmp_path)
    item = chain.run(fetched(golden))
    check = ArticleCheck(item.url, "gone")
    assert chain.run(check) is check
    assert chain.index.get(item.url).status == "gone"
    assert chain.stat("archive/gone") == 1


def test_the_exporter_writes_the_post_of_each_item():
    items = [build_post(fetched(golden), VERBATIM) for golden in GOLDENS[:2]]
    buffer = io.BytesIO()
    exporter = HexoPostExporter(buffer)
    exporter.start_exporting()
    for item in items:
        exporter.export_item(item)
    exporter.finish_exporting()
    assert buffer.getvalue() == GOLDENS[0].expected + GOLDENS[1].expected
    with pytest.raises(TypeError, match="not an archive item"):
        exporter.export_item(fetched(GOLDENS[0]))


def test_a_second_crawl_of_a_locked_archive_is_not_built(tmp_path):
    Chain(tmp_path)  # holds the archive until the test ends
    with pytest.raises(ArchiveLockedError, match="in use by newsspider pid"):
        make_crawler(tmp_path)


def test_a_crawl_that_does_not_write_leaves_the_archive_alone(tmp_path):
    crawler = make_crawler(tmp_path / "archive", ARCHIVE_WRITES=False)
    archive = CrawlArchive.of(crawler)
    assert archive.store is None and archive.index.count() == 0
    with pytest.raises(RuntimeError, match="does not write"):
        ArchiveWriterPipeline.from_crawler(crawler)
    archive.close()
    assert not (tmp_path / "archive").exists()


def test_put_post_writes_new_leaves_same_and_keeps_history_of_changed(tmp_path):
    relative = "金融/a.md"
    one, two = (hashlib.sha256(data).hexdigest() for data in (b"one", b"two"))

    def did(put):
        return (put.existed, put.written, put.sha256, put.size)

    assert did(put_post(tmp_path, relative, b"one")) == (False, True, one, 3)
    os.utime(tmp_path / relative, (1, 1))
    same = put_post(tmp_path, relative, b"one")
    assert did(same) == (True, False, one, 3) and same.kept is None
    assert (tmp_path / relative).stat().st_mtime == 1  # not touched
    changed = put_post(tmp_path, relative, b"two")
    assert did(changed) == (True, True, two, 3)
    assert (tmp_path / relative).read_bytes() == b"two"
    [kept] = (tmp_path / ".newsspider" / "history" / "金融" / "a").iterdir()
    assert kept.read_bytes() == b"one"
    # What it says it kept, and when: the history file's name has the same moment.
    assert changed.kept == Kept(kept.relative_to(tmp_path).as_posix(), one, 3)
    assert kept.name.startswith(changed.at.strftime("%Y%m%dT%H%M%S.%fZ"))
    assert sorted(p.name for p in (tmp_path / "金融").iterdir()) == ["a.md"]  # no temp left


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
    with pytest.raises(ConfigError, match=message):
        validate_settings(make_crawler(tmp_path, ARCHIVE_WRITES=False, **settings).settings)


def test_mirror_setting_is_normalized():
    assert parse_mirror(" http://127.0.0.1:8000/ ") == "http://127.0.0.1:8000"
    assert parse_mirror("") == ""
    assert parse_mirror(None) == ""


def test_one_docid_under_three_urls_is_one_post(tmp_path):
    golden = GOLDENS[2]
    chain = Chain(tmp_path)
    first = chain.run(fetched(golden))
    for url in (
        golden.meta["url"].replace("/china/", "/roll/"),
        golden.meta["url"].replace("/china/", "/jjxw/"),
    ):
        again = chain.run(fetched(golden, url=url))
        assert again.post_path == first.post_path
    assert len(list((tmp_path / CHINA_DIR).iterdir())) == 1
    assert chain.index.count() == 1
    assert chain.index.get(golden.meta["url"]) is not None


def test_a_title_equal_to_another_articles_disambiguated_name_gets_its_own_file(tmp_path):
    golden = GOLDENS[2]
    title = golden.meta["title"]
    third_url = golden.meta["url"].replace("lasorkf8164852", "lasorkf1111111")
    chain = Chain(tmp_path)
    # The article titled "<title>-<id>" comes first and takes the plain name ...
    squatter = chain.run(
        fetched(golden, url=third_url, docid="comos:lasorkf1111111", title=f"{title}-{OTHER_ID}")
    )
    first = chain.run(fetched(golden))
    # ... so the second article of <title> must not get "<title>-<id>.md" as well.
    second = chain.run(other_article(golden))
    paths = [squatter.post_path, first.post_path, second.post_path]
    assert len(set(paths)) == 3, paths
    assert second.post_path.endswith(f"-{OTHER_ID}-2.md")
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


def test_an_index_with_shared_posts_is_repaired_when_the_crawl_opens_it(tmp_path):
    from newsspider.archive.audit import audit
    from newsspider.archive.index import ArchiveIndex

    shared, old, new = shared_path_archive(tmp_path)
    crawler = make_crawler(tmp_path)
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
    crawler = make_crawler(tmp_path)
    _OPEN_CHAINS.append(type("Done", (), {"crawler": crawler})())
    outcomes = ArticleOutcomes(crawler)
    item = fetched(GOLDENS[0])
    lost = NotArchived("worker_crashed", "worker 12 exited", failed=True)
    outcomes.item_dropped(item, None, lost, None)
    outcomes.item_dropped(item, None, NotArchived("no_body", "the page has no body"), None)
    outcomes.item_dropped(item, None, DropItem("spam: another project's pipeline"), None)
    assert [(e.url, e.kind, e.reason) for e in outcomes.examples] == [
        (item.url, "failed", "worker_crashed"),
        (item.url, "dropped", "no_body"),
        (item.url, "dropped", "spam"),
    ]
    stats = crawler.stats.get_stats()
    assert stats["sina/failed/worker_crashed"] == 1 and stats["sina/dropped/no_body"] == 1
    assert "sina/dropped/spam" not in stats  # not newsspider's to count


@pytest.mark.parametrize(
    ("noted", "reason", "code", "outcome"),
    [
        (None, "shutdown", 1, "interrupted (shutdown)"),  # stopped before its handler was set
        ("SIGTERM", "shutdown", 143, "interrupted (SIGTERM)"),
        (None, "finished", 0, "finished"),
    ],
)
def test_a_crawl_stopped_from_outside_never_exits_0(tmp_path, noted, reason, code, outcome):
    crawler = make_crawler(tmp_path)
    _OPEN_CHAINS.append(type("Done", (), {"crawler": crawler})())
    outcomes = ArticleOutcomes(crawler)
    if noted:
        crawler.stats.set_value(INTERRUPTED_STAT, noted)
    outcomes.spider_closed(SinaFinanceSpider(), reason)
    assert verdict(crawler.stats.get_stats()) == (code, outcome)
