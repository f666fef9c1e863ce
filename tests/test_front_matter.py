"""Front matter: the archive's exact style, and titles that survive any YAML parser."""

import frontmatter
import pytest
import yaml

from newsspider.archive.front_matter import (
    HexoFrontMatter,
    Plain,
    Raw,
    read_front_matter,
    render_front_matter,
    yaml_plain,
    yaml_quote,
)

HOSTILE_TITLES = [
    "普通标题",
    '"中国拍《长津湖》是威胁世界"？封！',
    "It's a 'quoted' title",
    "both ' and \" quotes",
    "back\\slash \\n not a newline",
    "colon: and # hash and - dash",
    "{{ nunjucks }} {% tag %}",
    "- starts like a list",
    "? starts like a key",
    "yes",
    "null",
    "123",
    "tab\there",
    "new\nline",
    "nel\x85line",
    "line\u2028separator",
    "bom\ufeffinside",
    "bell\x07char",
    "emoji 📈 and 𠀀",
    "%percent% and ％",
    "&amp; entity-looking",
    "--- looks like a fence",
    "...",
    " trailing and leading spaces ",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_quoted_titles_round_trip(title):
    quoted = yaml_quote(title)
    assert "\n" not in quoted
    assert yaml.safe_load(f"title: {quoted}") == {"title": title}


def test_archive_quoting_style():
    assert yaml_quote("标题") == "'标题'"
    assert yaml_quote('"券茅"业绩') == "'\"券茅\"业绩'"
    assert yaml_quote("it's") == '"it\'s"'


@pytest.mark.parametrize("value", ["新浪财经", "金融", "Reuters", "yes", "a: b", "#x", " x", ""])
def test_plain_scalars_round_trip(value):
    assert yaml.safe_load(f"k: {yaml_plain(value)}")["k"] == value


def test_plain_is_used_only_when_safe():
    assert yaml_plain("新浪财经") == "新浪财经"
    assert yaml_plain("新浪财经－国內") == "新浪财经－国內"
    assert yaml_plain("yes") == "'yes'"
    assert yaml_plain("a: b") == "'a: b'"


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_rendered_posts_parse_back(title):
    text = render_front_matter(
        {
            "title": title,
            "categories": ["金融", "新浪财经", "新浪财经－国內"],
            "headimg": "",
            "author": Plain("新浪财经"),
            "comments": False,
            "date": Raw("Mon, 13 Dec 2021 07:34:10 GMT"),
            "thumbnail": "",
        },
        "\n<div>body</div>\n",
    )
    assert text.startswith("\n---\ntitle: ")
    metadata = read_front_matter(text)
    assert metadata["title"] == title
    assert metadata["categories"] == ["金融", "新浪财经", "新浪财经－国內"]
    assert metadata["comments"] is False
    assert metadata["headimg"] == ""
    post = frontmatter.loads(text, handler=HexoFrontMatter())
    assert post.content.strip() == "<div>body</div>"
