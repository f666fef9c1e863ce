"""File names: the older pipeline's rule, safe for Hexo, the file system and hostile titles."""

import pytest

from newsspider.archive.naming import (
    MAX_NAME_BYTES,
    category_dirs,
    docid_token,
    legacy_stem,
    legacy_title,
    post_filename,
)

from utils.content import GOLDENS


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda g: g.slug)
def test_golden_names_follow_the_legacy_rule(golden):
    legacy_name = golden.meta["archive"]["path"].rsplit("/", 1)[1]
    assert legacy_stem(golden.meta["title"]) + ".md" == legacy_name
    # Ours differs only where Hexo needs it to: % is written as ％.
    assert post_filename(golden.meta["title"]) == legacy_name.replace("%", "％")


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("a:b/c\\d?e*f<g>h|i[j]k“l”m", "a_b_c_d_e_f_g_h_i_j_k_l_m.md"),
        ("v1.2 #3", "v12 3.md"),
        ("两行\n标题\r", "两行标题.md"),
        ("涨10%", "涨10％.md"),
        ("“开头引号”", "＿开头引号_.md"),
        ("_underscore", "＿underscore.md"),
        ("...dots", "dots.md"),
        ("../../etc/passwd", "＿＿etc_passwd.md"),
        ("nul\x00byte\x1f", "nulbyte.md"),
        ("", "untitled.md"),
        ("...", "untitled.md"),
        ("   ", "untitled.md"),
    ],
)
def test_names(title, name):
    assert post_filename(title) == name


@pytest.mark.parametrize("title", ["中" * 300, "a" * 300, "📈" * 100, "中a" * 150])
@pytest.mark.parametrize("token", [None, "lasorkf8164852"])
def test_long_names_fit_255_bytes(title, token):
    name = post_filename(title, token)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.endswith(f"-{token}.md" if token else ".md")
    name.encode().decode()  # whole characters only


@pytest.mark.parametrize("title", ["/", "\\", "..", "a/../b", "\x00", "~", "%", ".hidden", "_x"])
def test_no_title_escapes_its_folder_or_hides(title):
    name = post_filename(title)
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert name not in (".md", "..md")
    assert not name.startswith((".", "_"))
    assert "%" not in name


def test_docid_token():
    assert docid_token("comos:lasorkf8164852", "x") == "lasorkf8164852"
    assert docid_token(None, "https://finance.sina.com.cn/c/doc-ilasorkf8164852.shtml") == (
        "ilasorkf8164852"
    )
    assert docid_token("comos:../x", "y") == "x"


def test_category_dirs():
    assert category_dirs(["金融", "新浪财经", "新浪财经－国內"]).as_posix() == (
        "金融/新浪财经/新浪财经－国內"
    )


def test_legacy_title_is_the_lossy_front_matter_title():
    assert legacy_title("a:b/c“d”[e] #1.5") == "a_b_c_d__e_ #1.5"
    assert legacy_stem("a:b/c“d”[e] #1.5") == "a_b_c_d__e_ 15"
