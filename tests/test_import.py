"""Imports into an archive, in process: folders of posts and git repositories built in the test
(``newsspider.importing``: sources, the identity rule, the ledger, the store)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsspider.archive.audit import audit
from newsspider.archive.front_matter import split_post
from newsspider.archive.history import history_folder
from newsspider.archive.index import ArchiveIndex
from newsspider.archive.index import IndexRow as IndexRowType
from newsspider.archive.store import ArchiveStore
from newsspider.importing.importer import Importer, ImportSummary
from newsspider.importing.ledger import LEDGER_NAME, ImportLedger
from newsspider.importing.legacy import normalize_post, path_selection, read_legacy_post
from newsspider.importing.sources import FolderSource, GitSource, NotASource, Source

from utils.archive import CHINA_DIR, index_row, posts_under
from utils.gitrepo import SiteRepo

LEGACY = Path(__file__).parent / "data" / "sina" / "legacy"
SEED = "source/_posts/金融/新浪财经/新浪财经－国內"
EARLY_2 = "post/金融/新浪财经 - 新浪财经－国內"
EARLY_3 = "post/金融/新浪财经/新浪财经－国內"
OTHER = "source/_posts/二次元/Eventernote/声优活动及演唱会"
T0 = 1_640_000_000  # 2021-12-20


def legacy(slug: str) -> bytes:
    return (LEGACY / slug / "post.md").read_bytes()


PMI_RCT = legacy("20211231_pmi_503_rct")
PMI_FORK = legacy("20211231_pmi_503_hajeekn")
LPR_QUOTED = legacy("20210322_lpr_quoted_rct")
BUMEN = legacy("20210322_22bumen_3level_rct")
FANGFA = legacy("20211228_100fangfa_rct")
MIMOPA = legacy("20211126_mimopa_hajeekn")
LPR_TWIN = LPR_QUOTED.replace(b'title: """""""""\'2021', b"title: '2021").replace(
    '稳定\'"""""""""\n'.encode(), "稳定'\n".encode()
)
BUMEN_EDITED = BUMEN.replace(
    "打击非法社会组织</strong>".encode(), "严厉打击非法社会组织</strong>".encode()
)
BROKEN = b"\n---\ntitle: 'x'\ncategories: [\n - a\n---\n<div></div>"
PMI_NAME = "12月制造业PMI升至503% 释放市场向好信号.md"
LPR_NAME = "2021年3月LPR报价点评：LPR短期内将继续保持稳定.md"
BUMEN_NAME = "22部门联合发文打击非法社会组织.md"
FANGFA_NAME = '"100种方法刑事你"的女书记登门道歉，当事人：没诚意.md'


def run_import(source: Source, archive: Path, **options: bool) -> ImportSummary:
    store = ArchiveStore.open(archive, fsync=False)
    ledger = ImportLedger(archive)
    try:
        return Importer(source, ledger, store, **options).run()
    finally:
        ledger.close()
        store.close()


def dry_run(source: Source, archive: Path) -> ImportSummary:
    ledger = ImportLedger(archive, read_only=True)
    index = ArchiveIndex.read_only(archive)
    try:
        return Importer(source, ledger, None, index=index).run()
    finally:
        index.close()
        ledger.close()


def snapshot(archive: Path) -> dict[str, bytes]:
    """Every file of the archive but the lock, the journal and SQLite's own files (the
    index and ledger are compared by their rows)."""
    files = {}
    for path in sorted(archive.rglob("*")):
        name = path.relative_to(archive).as_posix()
        if path.is_file() and not name.endswith(("lock", "journal", "-wal", "-shm", "sqlite3")):
            files[name] = path.read_bytes()
    return files


def rows(archive: Path) -> list[tuple]:
    index = ArchiveIndex.read_only(archive)
    try:
        return sorted(
            (r.url, r.path, r.sha256, r.title, r.channel, r.first_archived) for r in index.rows()
        )
    finally:
        index.close()


def history(archive: Path, relative: str) -> list[bytes]:
    folder = history_folder(archive, relative)
    return sorted(p.read_bytes() for p in folder.glob("*.md")) if folder.is_dir() else []


def assert_consistent(archive: Path) -> None:
    index = ArchiveIndex.read_only(archive)
    try:
        report = audit(archive, index)
    finally:
        index.close()
    assert report.consistent, report


@pytest.fixture
def site(tmp_path) -> SiteRepo:
    """A site repository as the old pipeline left it: every run deleted the posts and wrote
    the latest items of each feed again."""
    repo = SiteRepo(tmp_path / "RSSHUB-PAGE")
    # The earliest commits: the 2-level layout, then the repeated-quote bug.
    repo.commit({f"{EARLY_2}/{LPR_NAME}": LPR_TWIN, "README.md": b"x"}, T0 - 900_000)
    repo.commit({f'{EARLY_2}/"""""""""\'{LPR_NAME[:-3]}\'""""""""".md': LPR_QUOTED}, T0 - 800_000)
    repo.commit({f"{EARLY_3}/{BUMEN_NAME}": BUMEN}, T0 - 700_000)
    # 2021-04 on: the seed layout, other feeds beside it.
    repo.commit({f"{SEED}/{PMI_NAME}": PMI_RCT, f"{OTHER}/m.md": MIMOPA}, T0)
    repo.commit(
        {f"{SEED}/{PMI_NAME}": PMI_FORK, f"{OTHER}/m.md": MIMOPA.replace(b"9785", b"17")},
        T0 + 600,
    )
    repo.commit({f"{SEED}/{FANGFA_NAME}": FANGFA, f"{SEED}/bad.md": BROKEN}, T0 + 1200)
    repo.commit({f"{SEED}/{PMI_NAME}": PMI_RCT, f"{EARLY_3}/{BUMEN_NAME}": BUMEN_EDITED}, T0 + 1800)
    return repo


def test_a_repository_becomes_one_post_per_article_with_history(site, tmp_path):
    archive = tmp_path / "archive"
    summary = run_import(GitSource(site.path), archive)
    assert summary.commits == 7
    # PMI twice (two archives' dates), LPR twice (the repaired copy is its twin), 22部门 twice
    # (edited), 100种方法 once; the broken file is unreadable, the README no post.
    assert summary.versions_read == 7
    assert summary.articles == 4
    assert summary.identical == 2
    assert summary.history == 1
    assert len(summary.repaired) == 1
    assert "re-quoted title" in summary.repaired[0]
    assert summary.unreadable_reasons == {"bad_yaml": 1}
    assert summary.other_feeds == 2
    assert summary.line() == (
        "Imported: 4 articles from 7 commits (7 post versions); 2 identical copies skipped; "
        "1 earlier versions kept as history; 1 repaired; 1 unreadable (listed); "
        "2 posts of other feeds skipped"
    )
    china = CHINA_DIR.as_posix()
    posts = posts_under(archive)
    assert sorted(posts) == sorted(
        f"{china}/{name}"
        for name in (PMI_NAME.replace("%", "％"), LPR_NAME, BUMEN_NAME, FANGFA_NAME)
    )
    # Valid posts byte for byte; the newest version of an edited article is the post.
    assert posts[f"{china}/{PMI_NAME.replace('%', '％')}"] == PMI_RCT
    assert posts[f"{china}/{FANGFA_NAME}"] == FANGFA
    assert posts[f"{china}/{BUMEN_NAME}"] == BUMEN_EDITED
    assert history(archive, f"{china}/{BUMEN_NAME}") == [BUMEN]
    # The valid twin is kept, and the repaired copy's original bytes go to history.
    assert posts[f"{china}/{LPR_NAME}"] == LPR_TWIN
    assert history(archive, f"{china}/{LPR_NAME}") == [LPR_QUOTED]
    assert_consistent(archive)
    with sqlite3.connect(archive / ".newsspider" / LEDGER_NAME) as db:
        commits = {c for (c,) in db.execute("SELECT commit_id FROM versions")}
    assert commits <= set(site.commits)


def test_a_second_import_changes_nothing(site, tmp_path):
    archive = tmp_path / "archive"
    run_import(GitSource(site.path), archive)
    before, indexed = snapshot(archive), rows(archive)
    summary = run_import(GitSource(site.path), archive)
    assert (summary.new_posts, summary.updated_posts, summary.history_written) == (0, 0, 0)
    assert summary.already_imported == 4
    assert snapshot(archive) == before
    assert rows(archive) == indexed


def test_an_interrupted_import_gives_the_same_archive_when_run_again(site, tmp_path):
    archive = tmp_path / "archive"
    run_import(GitSource(site.path), archive)
    before, indexed = snapshot(archive), rows(archive)
    # Killed after the posts and history were written, before the ledger committed.
    os.unlink(archive / ".newsspider" / LEDGER_NAME)
    run_import(GitSource(site.path), archive)
    assert snapshot(archive) == before
    assert [r[:5] for r in rows(archive)] == [r[:5] for r in indexed]


def test_a_second_repository_merges_by_the_identity_rule(site, tmp_path):
    archive = tmp_path / "archive"
    run_import(GitSource(site.path), archive)
    fork = SiteRepo(tmp_path / "fork")
    newer = PMI_FORK.replace("记者魏玉坤".encode(), "记者 魏玉坤".encode())
    fork.commit({f"{SEED}/{PMI_NAME}": PMI_FORK, f"{SEED}/{FANGFA_NAME}": FANGFA}, T0 + 100)
    fork.commit({f"{SEED}/{PMI_NAME}": newer}, T0 + 90_000)
    summary = run_import(GitSource(fork.path), archive)
    assert summary.articles == 2
    assert (summary.new_posts, summary.updated_posts, summary.already_imported) == (0, 1, 1)
    china = CHINA_DIR.as_posix()
    pmi = f"{china}/{PMI_NAME.replace('%', '％')}"
    posts = posts_under(archive)
    assert len(posts) == 4
    assert posts[pmi] == newer  # newer than anything the first repository held
    assert history(archive, pmi) == [PMI_RCT]
    assert_consistent(archive)


def test_an_older_version_from_a_second_repository_goes_to_history(site, tmp_path):
    archive = tmp_path / "archive"
    run_import(GitSource(site.path), archive)
    fork = SiteRepo(tmp_path / "fork")
    older = FANGFA.replace("没有用".encode(), "没用".encode())
    fork.commit({f"{SEED}/{FANGFA_NAME}": older}, T0 - 5000)
    summary = run_import(GitSource(fork.path), archive)
    assert (summary.new_posts, summary.updated_posts, summary.history_written) == (0, 0, 1)
    china = CHINA_DIR.as_posix()
    assert posts_under(archive)[f"{china}/{FANGFA_NAME}"] == FANGFA
    assert history(archive, f"{china}/{FANGFA_NAME}") == [older]


def test_a_deleted_then_re_added_post_is_one_version(tmp_path):
    repo = SiteRepo(tmp_path / "repo")
    repo.commit({f"{SEED}/{FANGFA_NAME}": FANGFA}, T0)
    repo.commit({"README.md": b"empty run"}, T0 + 1)
    repo.commit({f"{SEED}/{FANGFA_NAME}": FANGFA}, T0 + 2)
    summary = run_import(GitSource(repo.path), tmp_path / "archive")
    assert (summary.commits, summary.versions_read, summary.articles, summary.history) == (
        3,
        1,
        1,
        0,
    )


def test_dry_run_writes_nothing_and_says_what_would_happen(site, tmp_path):
    archive = tmp_path / "archive"
    summary = dry_run(GitSource(site.path), archive)
    assert not archive.exists()
    assert summary.new_posts == 4
    assert summary.line().startswith("Would import: 4 articles from 7 commits")
    run_import(GitSource(site.path), archive)
    before = snapshot(archive)
    again = dry_run(GitSource(site.path), archive)
    assert (again.new_posts, again.already_imported) == (0, 4)
    assert snapshot(archive) == before


def test_a_folder_of_posts(tmp_path):
    folder = tmp_path / "site" / "source" / "_posts"
    china = folder / "金融" / "新浪财经" / "新浪财经－国內"
    china.mkdir(parents=True)
    (china / PMI_NAME).write_bytes(PMI_RCT)
    (china / "_hidden from Hexo.md").write_bytes(FANGFA)
    (china / "gbk.md").write_bytes("\n---\ntitle: '标题'\n---\n".encode("gbk"))
    (china / ".git").mkdir()
    (china / ".git" / "x.md").write_bytes(FANGFA)
    other = folder / "二次元" / "Eventernote"
    other.mkdir(parents=True)
    (other / "m.md").write_bytes(MIMOPA)
    archive = tmp_path / "archive"
    summary = run_import(FolderSource(folder), archive)
    assert (summary.articles, summary.other_feeds) == (2, 1)
    assert summary.unreadable_reasons == {"not_utf8": 1}
    dirs = CHINA_DIR.as_posix()
    assert posts_under(archive) == {
        f"{dirs}/{PMI_NAME.replace('%', '％')}": PMI_RCT,
        f"{dirs}/{FANGFA_NAME}": FANGFA,  # our name, whatever the old one was
    }
    assert_consistent(archive)
    before = snapshot(archive)
    assert run_import(FolderSource(folder), archive).new_posts == 0
    assert snapshot(archive) == before


def test_importing_the_archive_into_itself_imports_nothing_twice(tmp_path):
    archive = tmp_path / "archive"
    china = archive / CHINA_DIR
    china.mkdir(parents=True)
    (china / FANGFA_NAME).write_bytes(FANGFA)
    run_import(FolderSource(archive, exclude=tmp_path / "elsewhere"), archive)
    before = snapshot(archive)
    run_import(FolderSource(archive, exclude=tmp_path / "elsewhere"), archive)
    assert snapshot(archive) == before
    assert len(posts_under(archive)) == 1


def test_normalize_writes_todays_format_and_keeps_the_original(tmp_path):
    folder = tmp_path / "posts"
    early = folder / "post" / "金融" / "新浪财经 - 新浪财经－国內"
    early.mkdir(parents=True)
    (early / BUMEN_NAME).write_bytes(BUMEN)
    archive = tmp_path / "archive"
    run_import(FolderSource(folder), archive, normalize=True)
    relative = f"{CHINA_DIR.as_posix()}/{BUMEN_NAME}"
    post = read_legacy_post(BUMEN, datetime.now(UTC))
    expected = normalize_post(post, "新浪财经－国內", post.date)  # type: ignore[arg-type,union-attr]
    assert posts_under(archive)[relative] == expected
    metadata, _ = split_post(expected.decode())
    assert metadata["categories"] == ["金融", "新浪财经", "新浪财经－国內"]
    assert_consistent(archive)


def test_sources_refuse_what_they_are_not(tmp_path):
    with pytest.raises(NotASource, match="not a git repository"):
        GitSource(tmp_path)
    with pytest.raises(NotASource, match="not a folder"):
        FolderSource(tmp_path / "missing")


def test_each_blob_is_read_once(site, monkeypatch, tmp_path):
    reads: list[str] = []
    source = GitSource(site.path)
    real = source.read

    def counting(found):
        reads.append(found.ref)
        return real(found)

    monkeypatch.setattr(source, "read", counting)
    ledger = ImportLedger(tmp_path / "a", read_only=True)
    Importer(source, ledger, None).run()
    assert len(reads) == len(set(reads)) == 8  # 7 posts and the broken one


def test_the_index_row_of_an_imported_post(site, tmp_path):
    archive = tmp_path / "archive"
    run_import(GitSource(site.path), archive)
    index = ArchiveIndex.read_only(archive)
    try:
        found = {row.path: row for row in index.rows()}
    finally:
        index.close()
    row = found[f"{CHINA_DIR.as_posix()}/{FANGFA_NAME}"]
    assert row.url.startswith("import:")
    assert row.channel == "china"
    assert row.sha256 == hashlib.sha256(FANGFA).hexdigest()
    assert row.images == ("https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png",)
    assert json.dumps(row.to_record())


def test_an_index_of_an_earlier_version_gains_the_origin_columns(tmp_path):
    state = tmp_path / ".newsspider"
    state.mkdir()
    db = sqlite3.connect(state / "index.sqlite3")
    added = ("images", "origin", "source", "source_commit")
    old = {k: v for k, v in index_row(1).to_record().items() if k not in added}
    db.execute(f"CREATE TABLE articles ({', '.join(f'{k} TEXT' for k in old)}, PRIMARY KEY (url))")
    db.execute(f"INSERT INTO articles VALUES ({', '.join('?' * len(old))})", list(old.values()))
    db.commit()
    db.close()
    reader = ArchiveIndex.read_only(tmp_path)  # reads it as it is, changing nothing
    assert reader.counts_by_origin() == {"crawl": 1}
    assert reader.get(index_row(1).url).origin is None
    reader.close()
    index = ArchiveIndex(tmp_path)
    index.put(index_row(2, url="import:abc", origin="import", source="/r", source_commit="c0"))
    index.put(index_row(2, url="import:abc"))  # a row put without them keeps them
    assert index.counts_by_origin() == {"crawl": 1, "import": 1}
    kept = index.get("import:abc")
    assert (kept.origin, kept.source, kept.source_commit) == ("import", "/r", "c0")
    assert IndexRowType.from_record(kept.to_record()) == kept
    index.close()


def test_a_crawl_adopts_an_imported_post_by_title_and_time(site, tmp_path):
    archive = tmp_path / "archive"
    run_import(GitSource(site.path), archive)
    title = "12月制造业PMI升至50.3% 释放市场向好信号"
    store = ArchiveStore.open(archive, fsync=False)
    try:
        categories = ("金融", "新浪财经", "新浪财经－国內")
        date = datetime(2021, 12, 31, 3, 30, tzinfo=UTC)  # 24 minutes after the imported date
        # Another folder, another title, or two hours off: not this article.
        other = ("金融", "新浪财经", "新浪财经－宏观经济")
        late = date + timedelta(hours=2)
        for n, (name, moment, folder) in enumerate(
            [(title, date, other), ("别的", date, categories), (title, late, categories)]
        ):
            found = store.place(f"https://f.sina.com.cn/{n}.shtml", f"x:{n}", name, moment, folder)
            assert found[1] is None
        url = "https://finance.sina.com.cn/china/2021-12-31/doc-ikyakumx7605281.shtml"
        path, known = store.place(url, "comos:kyakumx7605281", title, date, categories)
        assert known is not None
        assert (known.url, known.origin, known.docid) == (url, "adoption", None)
        assert path == f"{CHINA_DIR.as_posix()}/{PMI_NAME.replace('%', '％')}"
        row = store.index.get(url)
        assert row is not None
        assert (row.origin, row.path) == ("adoption", path)
        assert row.source == str(site.path)
        assert row.source_commit in site.commits
        # Once adopted, the article is known by its URL: no second adoption.
        assert store.place(url, "comos:kyakumx7605281", title, date, categories)[1] == row
    finally:
        store.close()
    # A later import of the same repository keeps the adopted row and changes nothing.
    before = snapshot(archive)
    run_import(GitSource(site.path), archive)
    assert snapshot(archive) == before
    index = ArchiveIndex.read_only(archive)
    try:
        assert index.counts_by_origin() == {"adoption": 1, "import": 3}
        assert index.get(url) is not None
    finally:
        index.close()
    assert_consistent(archive)


def test_an_import_into_a_crawled_archive_keeps_the_crawled_post(site, tmp_path):
    archive = tmp_path / "archive"
    crawled = b"\n---\ntitle: 'crawled'\n---\n<div>the crawl's rendering</div>\n"
    path = f"{CHINA_DIR.as_posix()}/crawled-pmi.md"
    (archive / CHINA_DIR).mkdir(parents=True)
    (archive / path).write_bytes(crawled)
    store = ArchiveStore.open(archive, fsync=False)
    try:
        moment = int(datetime(2021, 12, 31, 3, 20, tzinfo=UTC).timestamp())
        row = index_row(
            1,
            title="12月制造业PMI升至50.3% 释放市场向好信号",
            path=path,
            intime=moment,
            sha256=hashlib.sha256(crawled).hexdigest(),
        )
        store.index.put(row)
    finally:
        store.close()
    dry = dry_run(GitSource(site.path), archive)
    assert (dry.new_posts, dry.merged_with_crawled) == (3, 1)
    summary = run_import(GitSource(site.path), archive)
    assert (summary.new_posts, summary.merged_with_crawled) == (3, 1)
    posts = posts_under(archive)
    assert len(posts) == 4
    assert posts[path] == crawled
    assert history(archive, path) == [PMI_RCT]
    assert_consistent(archive)
    before = snapshot(archive)
    assert run_import(GitSource(site.path), archive).already_imported == 4
    assert snapshot(archive) == before


def test_path_narrows_the_git_walk(site, tmp_path):
    only_seed = path_selection([f"{SEED}/*.md"])
    summary = run_import(GitSource(site.path, select=only_seed), tmp_path / "archive")
    # The seed folder's PMI (two copies), 100种方法, the broken file; the early layouts' four
    # posts and the two of the other feed are skipped.
    assert (summary.articles, summary.versions_read, summary.other_feeds) == (2, 3, 6)
    assert summary.unreadable_reasons == {"bad_yaml": 1}


def test_imported_versions_are_recorded_with_reason_import(site, tmp_path):
    from newsspider.archive.history import post_versions, version_bytes

    archive = tmp_path / "archive"
    run_import(GitSource(site.path), archive)
    run_import(GitSource(site.path), archive)  # a second import records nothing twice
    relative = f"{CHINA_DIR.as_posix()}/{BUMEN_NAME}"
    index = ArchiveIndex.read_only(archive)
    try:
        assert len(index.versions(relative)) == 2
        versions = post_versions(archive, index, relative)
    finally:
        index.close()
    assert [(v.why, v.recorded, v.current) for v in versions] == [
        ("import", True, False),
        ("import", True, True),
    ]
    assert [version_bytes(archive, v) for v in versions] == [BUMEN, BUMEN_EDITED]
    # Each at the time the source had it (the commits of the site's history).
    assert versions[0].at is not None and versions[1].at is not None
    assert versions[0].at < versions[1].at
