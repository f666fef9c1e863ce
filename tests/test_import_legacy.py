"""Legacy posts read, repaired, identified and normalized (``newsspider.importing.legacy``), on
the real posts of each generation (``tests/data/sina/legacy/``) and on crafted variants."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from newsspider.archive.front_matter import split_post
from newsspider.importing.legacy import (
    LegacyPost,
    Unreadable,
    body_fingerprint,
    normalize_post,
    path_selection,
    read_date,
    read_legacy_post,
    sina_channel,
    target_categories,
)
from newsspider.sina.dates import BEIJING

LEGACY = Path(__file__).parent / "data" / "sina" / "legacy"
WHEN = datetime(2022, 1, 1, 4, 0, tzinfo=UTC)
CHINA = "新浪财经－国內"


@dataclass(frozen=True)
class Legacy:
    slug: str
    data: bytes
    meta: dict[str, str]


def legacy(slug: str) -> Legacy:
    folder = LEGACY / slug
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return Legacy(slug, (folder / "post.md").read_bytes(), meta)


def read(data: bytes | str) -> LegacyPost:
    post = read_legacy_post(data.encode() if isinstance(data, str) else data, WHEN)
    assert isinstance(post, LegacyPost), post
    return post


SLUGS = sorted(p.name for p in LEGACY.iterdir() if p.is_dir())


def test_the_fixtures_are_the_files_as_stored():
    for slug in SLUGS:
        item = legacy(slug)
        assert len(item.data.decode("utf-8")) == item.meta["total_chars"], slug


@pytest.mark.parametrize(
    ("slug", "channel", "title", "date"),
    [
        ("20210318_beiqi_volleyball_flat_rct", None, "5局大战击败16冠王 北汽男排收获信心也发现问题",
         datetime(2021, 3, 18, 3, 26, 52, tzinfo=UTC)),
        ("20210322_22bumen_3level_rct", CHINA, "22部门联合发文打击非法社会组织",
         datetime(2021, 3, 22, 8, 1, 14, tzinfo=UTC)),
        ("20211231_pmi_503_rct", CHINA, "12月制造业PMI升至50.3% 释放市场向好信号",
         datetime(2021, 12, 31, 3, 6, tzinfo=UTC)),
        ("20211231_pmi_503_hajeekn", CHINA, "12月制造业PMI升至50.3% 释放市场向好信号",
         datetime(2021, 12, 31, 3, 11, 28, tzinfo=UTC)),
        ("20211228_100fangfa_rct", CHINA, '"100种方法刑事你"的女书记登门道歉，当事人：没诚意',
         datetime(2021, 12, 28, 3, 54, 1, tzinfo=UTC)),
        ("20220224_jojo_rct", None,
         "ジョジョの奇妙な冒険 ストーンオーシャン｜JOJO's Bizarre Adventure Stone Ocean"
         "｜JOJO的奇妙冒险 石之海",
         datetime(2022, 2, 24, 15, 30, tzinfo=UTC)),
        ("20211126_mimopa_hajeekn", None, "みもパ！～夏休みだよ、全員集合！～",
         datetime(2021, 11, 26, 7, 21, 47, tzinfo=BEIJING)),
    ],
)  # fmt: skip
def test_valid_posts_of_every_generation_read_and_keep_their_bytes(slug, channel, title, date):
    item = legacy(slug)
    assert sina_channel(item.meta["path"]) == channel
    post = read(item.data)
    assert (post.title, post.date, post.repairs) == (title, date, ())
    assert post.data == item.data


def test_the_repeated_quote_title_is_repaired_and_loads():
    item = legacy("20210322_lpr_quoted_rct")
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(item.data.decode().split("---")[1])
    post = read(item.data)
    assert post.title == "2021年3月LPR报价点评：LPR短期内将继续保持稳定"
    assert post.repairs == ("re-quoted title (the front matter was not valid YAML)",)
    metadata, _ = split_post(post.text)
    assert metadata["title"] == post.title
    assert "title: '2021年3月LPR报价点评：LPR短期内将继续保持稳定'\n" in post.text
    # Only the title line changed.
    assert post.text.replace(
        "title: '2021年3月LPR报价点评：LPR短期内将继续保持稳定'", ""
    ) == item.data.decode().replace(f"title: {9 * chr(34)}'{post.title}'{9 * chr(34)}", "")
    assert sina_channel(item.meta["path"]) == CHINA


def test_the_repaired_title_is_the_same_version_as_its_unwrapped_twin():
    quoted = read(legacy("20210322_lpr_quoted_rct").data)
    twin = read(quoted.text)  # the 334f869c file: the same bytes without the wrapping
    assert twin.repairs == ()
    assert (twin.version, twin.fingerprint) == (quoted.version, quoted.fingerprint)


def test_copies_of_two_archives_with_other_dates_are_one_article_and_one_version():
    rct = read(legacy("20211231_pmi_503_rct").data)
    fork = read(legacy("20211231_pmi_503_hajeekn").data)
    assert rct.date != fork.date
    assert rct.fingerprint == fork.fingerprint
    assert rct.version == fork.version


def test_a_random_head_image_and_the_runs_date_do_not_make_a_version():
    text = legacy("20211126_mimopa_hajeekn").data.decode()
    rerun = text.replace("random=9785", "random=17").replace("07:21:47", "09:00:03")
    assert rerun != text
    assert read(rerun).version == read(text).version


def test_the_layouts_of_the_early_generation_are_one_version():
    three = legacy("20210322_22bumen_3level_rct").data.decode()
    two = three.replace(
        "    - 金融\n    - 新浪财经\n    - 新浪财经－国內\n\nauthor: 新浪财经\n",
        "    - 金融\n    - 新浪财经 - 新浪财经－国內\nauthor: 新浪财经 - 新浪财经－国內\n",
    )
    assert two != three
    assert read(two).version == read(three).version


def test_a_changed_body_is_another_version_and_another_fingerprint():
    text = legacy("20211231_pmi_503_rct").data.decode()
    edited = text.replace("持续高于50%的临界点", "连续高于50%的临界点")
    assert edited != text
    before, after = read(text), read(edited)
    assert before.version != after.version
    assert before.fingerprint != after.fingerprint
    assert before.title == after.title


def test_the_qr_block_and_the_proxy_do_not_change_the_fingerprint():
    body = '\n<div>   \n<p>正文</p><img src="http://n.sinaimg.cn/a.jpg">\n  \n</div>\n'
    qr = (
        '<style>.appendQr_wrap&#123;border:1px;&#125;</style><div class="appendQr_wrap">'
        '<img src="https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png">'
        "<div>海量资讯、精准解读，尽在新浪财经APP</div></div><!-- 文末二维码 -->"
    )
    proxied = body.replace("http://n.", "https://cors.zfour.workers.dev/?http://n.")
    assert body_fingerprint(body) == body_fingerprint(body.replace("</p>", f"</p>{qr}"))
    assert body_fingerprint(body) == body_fingerprint(proxied)
    assert body_fingerprint(body) != body_fingerprint(body.replace("a.jpg", "b.jpg"))


def post_text(front: str, body: str = "\n<div>   \n<p>正文</p>\n  \n</div>\n            ") -> str:
    return f"\n---\n{front}---\n{body}"


FRONT = (
    "title: '标题'\ncategories: \n - 金融\n - 新浪财经\n - 新浪财经－国內\n"
    "headimg: ''\nauthor: 新浪财经\ncomments: false\ndate: Fri, 31 Dec 2021 03:06:00 GMT\n"
    "thumbnail: ''\n"
)


def test_a_missing_opening_rule_is_added():
    post = read(post_text(FRONT).removeprefix("\n---\n"))
    assert post.repairs == ("added the missing opening ---",)
    assert post.text == post_text(FRONT)


def test_a_missing_closing_rule_is_added():
    broken = post_text(FRONT).replace("thumbnail: ''\n---\n", "thumbnail: ''\n\n")
    post = read(broken)
    assert post.repairs == ("added the missing closing ---",)
    metadata, content = split_post(post.text)
    assert metadata["title"] == "标题"
    assert "<p>正文</p>" in content


def test_a_rule_in_the_body_is_not_taken_for_the_closing_one():
    broken = post_text(FRONT.replace("thumbnail: ''\n", "thumbnail: ''\n\n<div>\n"), "a\n")
    post = read(broken)
    assert post.repairs == ("added the missing closing ---",)
    assert post.title == "标题"


@pytest.mark.parametrize("date", ["date: 明天\n", "date: \n", "date: 2021-13-45 99:00:00\n", ""])
def test_a_bad_or_missing_date_gets_the_commits_time(date):
    post = read(post_text(FRONT.replace("date: Fri, 31 Dec 2021 03:06:00 GMT\n", date)))
    assert post.date is None
    assert "the commit's time put in its place" in post.repairs[-1]
    metadata, _ = split_post(post.text)
    assert metadata["date"] == "Sat, 01 Jan 2022 04:00:00 GMT"


@pytest.mark.parametrize(
    "title_line",
    [
        "title: 问答: 答案\n",  # a colon in an unquoted title
        "title: 2021\n",  # read as a number
        "title: [头条] 消息\n",  # a flow sequence
        'title: """""""\'标题\'"""""""\n',
    ],
)
def test_titles_yaml_misreads_are_requoted(title_line):
    post = read(post_text(FRONT.replace("title: '标题'\n", title_line)))
    assert post.repairs == ("re-quoted title (the front matter was not valid YAML)",)
    assert post.title == _unwrapped(title_line)
    metadata, _ = split_post(post.text)
    assert metadata["title"] == post.title
    assert isinstance(post.title, str)


def _unwrapped(title_line: str) -> str:
    return title_line.removeprefix("title: ").strip().strip('"').strip("'")


def test_raw_nunjucks_tags_in_the_body_are_escaped():
    post = read(post_text(FRONT, "\n<div>{{ x }} {% y %}</div>\n"))
    assert post.repairs == ("escaped { and } (Hexo's Nunjucks would read the body as tags)",)
    assert post.content == "\n<div>&#123;&#123; x &#125;&#125; &#123;% y %&#125;</div>\n"
    assert read(post_text(FRONT, "\n<div>(function(){ a })</div>\n")).repairs == ()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\n---\ntitle: 'a'\x00\n---\n", "binary"),
        ("\n---\ntitle: '标题'\n---\n".encode("gbk"), "not_utf8"),
        (b"<div>no front matter</div>\n", "no_front_matter"),
        (b"", "no_front_matter"),
        (b"\n---\n---\n<div></div>", "no_title"),
        (b"\n---\ncategories: [\n - a\n---\n<div></div>", "bad_yaml"),
        (b"\n---\nauthor: x\n---\n<div></div>", "no_title"),
        (b"\n---\ntitle: ''\n---\n<div></div>", "no_title"),
        (b"\n---\n- a\n- b\n---\n", "no_front_matter"),
    ],
)
def test_what_is_no_post_is_unreadable_with_its_reason(data, reason):
    found = read_legacy_post(data, WHEN)
    assert isinstance(found, Unreadable)
    assert found.reason == reason


@pytest.mark.parametrize(
    ("path", "channel"),
    [
        ("source/_posts/金融/新浪财经/新浪财经－国內/a.md", CHINA),
        ("post/金融/新浪财经/新浪财经－国內/a.md", CHINA),
        ("post/金融/新浪财经 - 新浪财经－国內/a.md", CHINA),
        ("金融/新浪财经/新浪财经－宏观经济/a.md", "新浪财经－宏观经济"),
        ("source/_posts/金融/新浪财经/新浪财经－国內/a.txt", None),
        ("source/_posts/金融/新浪财经/新浪财经－国內/.a.md", None),
        ("source/_posts/金融/新浪财经/新浪财经－国內/sub/a.md", None),
        ("post/传统媒体/新浪体育 - 综合/a.md", None),
        ("post/传统媒体/a.md", None),
        ("source/_posts/科技/新浪科技/科学探索/a.md", None),
        ("source/_posts/二次元/Eventernote/声优活动及演唱会/a.md", None),
        ("other/金融/新浪财经/新浪财经－国內/a.md", None),
        ("source/_posts/金融/新浪财经 - 新浪财经－国內/a.md", None),
    ],
)
def test_which_paths_are_sina_finance_posts(path, channel):
    assert sina_channel(path) == channel


def test_posts_land_in_our_layout():
    assert target_categories(CHINA) == ("金融", "新浪财经", CHINA)


def test_read_date():
    assert read_date("Fri, 31 Dec 2021 03:06:00 GMT") == datetime(2021, 12, 31, 3, 6, tzinfo=UTC)
    assert read_date("2021-11-26 07:21:47") == datetime(2021, 11, 25, 23, 21, 47, tzinfo=UTC)
    assert read_date(datetime(2021, 11, 26, 7, 21, 47)) == datetime(
        2021, 11, 26, 7, 21, 47, tzinfo=BEIJING
    )
    for bad in ("", "Fri, 31 Dec 2021", "soon", None, 5, "Fri, 31 Dec 2021 03:06:00"):
        assert read_date(bad) is None, bad


def test_normalize_restores_proxied_pictures_and_replaces_the_random_head_image():
    jojo = read(legacy("20220224_jojo_rct").data)
    data = normalize_post(jojo, CHINA, WHEN)
    metadata, content = split_post(data.decode())
    original = "http://lain.bgm.tv/pic/cover/l/d6/4f/332261_szZEK.jpg"
    assert "cors.zfour.workers.dev" not in data.decode()
    assert metadata["headimg"] == metadata["thumbnail"] == original
    assert f'<img src="{original}"' in content
    assert metadata["categories"] == ["金融", "新浪财经", CHINA]
    assert metadata["author"] == "新浪财经"
    assert metadata["title"] == jojo.title

    mimopa = read(legacy("20211126_mimopa_hajeekn").data)
    data = normalize_post(mimopa, CHINA, WHEN)
    metadata, _ = split_post(data.decode())
    assert metadata["headimg"] == metadata["thumbnail"] == ""
    assert metadata["date"] == "Wed, 24 Nov 2021 23:21:47 GMT".replace("Wed, 24", "Thu, 25")


def test_normalize_writes_todays_exact_format():
    item = legacy("20211231_pmi_503_rct")
    post = read(item.data)
    # A seed-generation Sina post is in today's format already: normalizing changes nothing.
    assert normalize_post(post, CHINA, WHEN) == item.data
    early = read(legacy("20210322_22bumen_3level_rct").data)
    data = normalize_post(early, CHINA, WHEN).decode()
    assert data.startswith(
        "\n---\ntitle: '22部门联合发文打击非法社会组织'\ncategories: \n - 金融\n - 新浪财经\n"
        " - 新浪财经－国內\nheadimg: 'https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png'"
        "\nauthor: 新浪财经\ncomments: false\ndate: Mon, 22 Mar 2021 08:01:14 GMT\n"
    )
    assert data.endswith(early.content)


def test_path_selection_narrows_or_widens_what_is_imported():
    select = path_selection(["source/_posts/金融/*", "old/*/快讯/*.md"])
    assert select("source/_posts/金融/新浪财经/新浪财经－国內/a.md") == CHINA
    assert select("post/金融/新浪财经/新浪财经－国內/a.md") is None  # narrowed out
    assert select("old/x/快讯/a.md") == "快讯"  # widened: the post's folder is its channel
    assert select("old/x/快讯/a.txt") is None
    assert select("old/x/快讯/.a.md") is None
    assert select("old/x/.快讯/a.md") is None
