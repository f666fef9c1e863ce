"""The golden archive posts loaded by a real Hexo 8 site (`npm ci --prefix tests/hexo`).

What Hexo 8.1.2 (hexo-renderer-marked 7.0.1, default _config.yml otherwise) was seen to do:

* Front matter after a leading blank line (the golden posts start with "\\n---\\n"): parsed.
  hexo-front-matter's "---" first-line form does not match, so it falls back to the form
  without an opening separator, and js-yaml reads the leading "---" as a YAML document
  marker: title, date, categories and comments all come from the front matter.
* Bad YAML front matter: js-yaml throws, Hexo logs "Process failed: _posts/x.md:
  YAMLException: ...", drops that post, loads the others, and `hexo.load()` succeeds.
* "%" in a file name: the name is the post's :title, so the default permalink
  (:year/:month/:day/:title/) contains it, and Hexo's encodeURL calls decodeURI on it. A "%"
  not followed by two hex digits ("上涨14%.md", "37%，", "380% ") throws "URIError: URI
  malformed", logged as "Process failed", and the post is dropped. A valid escape such as
  "a%20b.md" loads. Three of the eight archive names contain such a "%"; the archive's own
  site used `permalink: p/:abbrlink.html`, which keeps the name out of the URL.
* A name ending in "%" or "~" (e.g. "x.md%") is a temp file and skipped without a log line.
* A file or folder whose name starts with "_" or "." under _posts is skipped without a log line.
* An upper-case extension ("X.MD") is not rendered, so not a post.
* Rendering: marked turns the indented QR/<style> block at the end of every golden body (lines
  indented 12 spaces after a blank line) into one <pre><code> block of escaped HTML.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from utils import hexo_site
from utils.hexo_site import HexoLoad, HexoPost, load_hexo_posts

pytestmark = pytest.mark.hexo

GOLDEN_DIR = Path(__file__).resolve().parent / "data" / "sina" / "golden"
CATEGORIES = ["金融", "新浪财经", "新浪财经－国內"]
CATEGORY_DIR = Path(*CATEGORIES)


@dataclass(frozen=True)
class Golden:
    slug: str
    title: str
    date: datetime
    archive_name: str  # the file name the post had in the archive
    text: str  # expected.md


def _goldens() -> list[Golden]:
    goldens = []
    for post_dir in sorted(GOLDEN_DIR.iterdir()):
        meta = json.loads((post_dir / "meta.json").read_text(encoding="utf-8"))
        goldens.append(
            Golden(
                slug=post_dir.name,
                title=meta["title"],
                date=datetime.fromtimestamp(meta["intime"], tz=UTC),
                archive_name=Path(meta["archive"]["path"]).name,
                text=(post_dir / "expected.md").read_text(encoding="utf-8"),
            )
        )
    return goldens


GOLDENS = _goldens()
# A load and, for each post's source, the golden post written there.
GoldenLoad = tuple[HexoLoad, dict[str, Golden]]


def _hexo_safe_name(name: str) -> str:
    # "%" breaks Hexo's default permalink (see the module docstring); "_" is what the
    # archive already put in place of characters that cannot be in a file name.
    return name.replace("%", "_")


def _load_goldens(tmp: Path, name_of: Callable[[Golden], str]) -> GoldenLoad:
    """Write every golden post to tmp/archive/<categories>/<name_of(golden)> and load it."""
    archive = tmp / "archive"
    (archive / CATEGORY_DIR).mkdir(parents=True)
    by_source = {}
    for golden in GOLDENS:
        name = name_of(golden)
        shutil.copyfile(GOLDEN_DIR / golden.slug / "expected.md", archive / CATEGORY_DIR / name)
        by_source[f"_posts/{(CATEGORY_DIR / name).as_posix()}"] = golden
    return load_hexo_posts(archive, tmp / "site"), by_source


@pytest.fixture(scope="module")
def golden_load(tmp_path_factory: pytest.TempPathFactory) -> GoldenLoad:
    return _load_goldens(
        tmp_path_factory.mktemp("golden"), lambda g: _hexo_safe_name(g.archive_name)
    )


def test_golden_posts_have_the_archive_layout() -> None:
    assert len(GOLDENS) == 8
    for golden in GOLDENS:
        assert golden.text.startswith("\n---\ntitle: ")  # byte 0 is a blank line


def test_all_golden_posts_load(golden_load: GoldenLoad) -> None:
    load, by_source = golden_load
    assert load.missing == []
    assert load.errors == []
    assert sorted(post.source for post in load.posts) == sorted(by_source)


@pytest.mark.parametrize("golden", GOLDENS, ids=[g.slug for g in GOLDENS])
def test_golden_post_front_matter_as_hexo_reads_it(golden_load: GoldenLoad, golden: Golden) -> None:
    load, by_source = golden_load
    post = _post_of(load, by_source, golden)
    assert post.title == golden.title
    assert post.date == golden.date
    assert post.date.tzinfo == UTC
    assert post.categories == CATEGORIES
    assert post.comments is False
    assert post.raw == golden.text
    # The front matter was taken off the body, and the body was rendered.
    assert "title:" not in post.content
    assert post.content.lstrip().startswith("<div>")


def test_title_comes_from_front_matter_not_file_name(
    golden_load: GoldenLoad,
) -> None:
    load, by_source = golden_load
    (golden,) = [g for g in GOLDENS if g.slug == "20220516_cpi_short_noimg"]
    post = _post_of(load, by_source, golden)
    assert Path(post.source).stem == "1-4月份全国居民消费价格（CPI）同比上涨14_"
    assert post.title == "1-4月份全国居民消费价格（CPI）同比上涨1.4%"


def test_percent_in_archive_file_names_is_dropped_by_hexo(tmp_path: Path) -> None:
    load, by_source = _load_goldens(tmp_path, lambda g: g.archive_name)
    with_percent = sorted(src for src in by_source if "%" in src)
    assert len(with_percent) == 3
    assert load.missing == with_percent
    assert sorted(load.errors) == [
        f"Process failed: {src}: URIError: URI malformed" for src in with_percent
    ]
    for post in load.posts:
        assert post.title == by_source[post.source].title
    assert len(load.posts) == 5


def test_bad_names_and_bad_front_matter(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    (archive / "_drafts-like").mkdir(parents=True)
    front = (
        "---\ntitle: '{title}'\ndate: Mon, 16 May 2022 02:27:46 GMT\n"
        "categories:\n - A\n - B\n---\n\nbody\n"
    )
    posts = {
        "ok.md": front.format(title="ok"),
        "leading.md": "\n" + front.format(title="From front matter"),
        "bad-yaml.md": "---\ntitle: 'unterminated\ndate: [\n---\n\nbody\n",
        "a%b.md": front.format(title="percent"),
        "a%20b.md": front.format(title="valid escape"),
        "_under.md": front.format(title="underscore"),
        ".dot.md": front.format(title="dot"),
        "_drafts-like/inner.md": front.format(title="in underscore folder"),
        "UPPER.MD": front.format(title="upper case extension"),
        "temp.md%": front.format(title="temp file"),
    }
    for name, text in posts.items():
        (archive / name).write_text(text, encoding="utf-8")

    load = load_hexo_posts(archive, tmp_path / "site")

    titles = {post.source: post.title for post in load.posts}
    assert titles == {
        "_posts/ok.md": "ok",
        "_posts/leading.md": "From front matter",
        "_posts/a%20b.md": "valid escape",
    }
    for post in load.posts:
        assert post.date == datetime(2022, 5, 16, 2, 27, 46, tzinfo=UTC)
        assert post.categories == ["A", "B"]
        assert post.comments is True  # Hexo's default
        assert post.content == "<p>body</p>\n"
    assert load.missing == sorted(
        f"_posts/{name}"
        for name in [
            "bad-yaml.md",
            "a%b.md",
            "_under.md",
            ".dot.md",
            "_drafts-like/inner.md",
            "UPPER.MD",
        ]
    )
    # Only the bad YAML and the "%" name are logged; "_", "." and "X.MD" are skipped silently.
    percent_error, yaml_error = sorted(load.errors)
    assert percent_error == "Process failed: _posts/a%b.md: URIError: URI malformed"
    assert yaml_error.startswith("Process failed: _posts/bad-yaml.md: YAMLException: ")


def _post_of(load: HexoLoad, by_source: dict[str, Golden], golden: Golden) -> HexoPost:
    (post,) = [post for post in load.posts if by_source[post.source] is golden]
    return post


def test_missing_harness_is_an_error_not_a_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hexo_site, "NODE_MODULES", tmp_path / "node_modules")
    assert not hexo_site.hexo_available()
    with pytest.raises(RuntimeError, match=r"run `npm ci --prefix tests/hexo`"):
        load_hexo_posts(tmp_path, tmp_path / "site")
