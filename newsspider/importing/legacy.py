"""Legacy posts: what the older pipeline (``muti_work.py``) wrote, read as plain values.

Pure functions of bytes and plain values, in the order an import uses them:

* :func:`sina_channel`: whether a path in a legacy site is a Sina Finance post, and its channel
  (``source/_posts/金融/新浪财经/<channel>/``, ``post/金融/新浪财经/<channel>/``,
  ``post/金融/新浪财经 - <channel>/``), and :func:`target_categories`: where it lands in our
  layout (``金融/新浪财经/<channel>/``);
* :func:`read_legacy_post`: the post's title, date and content, whatever generation wrote it,
  or why it is unreadable; a post Hexo would drop or misread (front matter that is not valid
  YAML, a missing ``---``, a bad date, a body Nunjucks would read as tags) comes back repaired,
  with one line per repair (the caller keeps the original bytes as history);
* :attr:`LegacyPost.fingerprint` and :attr:`LegacyPost.version`: what identifies the article
  (its text without what changed from run to run) and what makes two copies one version
  (title and content, with the random head image left out; front matter lines the old writer
  rewrote on every run, such as the date, do not count);
* :func:`normalize_post`: the post in today's exact format (``--normalize``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any

import yaml

from newsspider.archive.front_matter import yaml_quote
from newsspider.post import SITE_AUTHOR, FrontMatter, render_post
from newsspider.sina.channels import SITE_CATEGORIES
from newsspider.sina.dates import BEIJING, rfc1123

# Where each generation put Sina Finance posts, relative to the site (or to its ``_posts``
# folder, for a folder of posts): 2021-04 on, then the early 3-level and 2-level layouts.
_SINA_PATHS = (
    re.compile(r"^(?:source/_posts/|post/)?金融/新浪财经/(?P<channel>[^/]+)/(?P<name>[^/]+\.md)$"),
    re.compile(r"^(?:post/)?金融/新浪财经 - (?P<channel>[^/]+)/(?P<name>[^/]+\.md)$"),
)

CORS_PROXY = "https://cors.zfour.workers.dev/?"
_CORS = re.compile(re.escape(CORS_PROXY) + r"(?=https?://)")
_PICSUM = re.compile(r"https?://picsum\.photos/[^\s'\"<>]*")
_IMG_SRC = re.compile(r"<img\b[^>]*?\ssrc=\"([^\"]*)\"", re.IGNORECASE)
# The end-of-article QR block every 2021 Sina post carries: not the article's.
_QR_IMAGE = "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"
_QR_TEXT = "海量资讯、精准解读，尽在新浪财经APP"
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_RAW_TEXT = re.compile(r"<(style|script)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_NUNJUCKS = re.compile(r"\{[{%#]")
_KEY_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<value>.*)$")
_FRONT_LINE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*:.*|\s.*|)$")
_LOCAL_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$")
# Scalars the old writer put unquoted or wrapped wrongly; re-quoted when the YAML does not load.
_REQUOTED = ("title", "headimg", "thumbnail", "author", "date")


def sina_channel(path: str) -> str | None:
    """The Sina Finance channel (``新浪财经－国內``) of the post at ``path`` (POSIX, relative
    to the site or its posts folder), or None when it is no Sina Finance post (another feed,
    Sina's sports or tech feeds, a hidden file, not a ``.md``)."""
    for layout in _SINA_PATHS:
        found = layout.match(path)
        if found is not None:
            channel, name = found.group("channel"), found.group("name")
            if channel.startswith(".") or name.startswith(".") or not channel.strip():
                return None
            return channel
    return None


Selection = Callable[[str], "str | None"]
"""Which paths of a source are imported, and the channel of each: :func:`sina_channel`, or
:func:`path_selection` for ``--path``."""


def path_selection(patterns: Sequence[str]) -> Selection:
    """The selection of ``--path``: the paths that match one of the glob ``patterns``
    (``fnmatch``: ``*`` matches ``/`` too), each with its channel: the one :func:`sina_channel`
    gives, else the name of the folder the post is in. A hidden post or a file that is no
    ``.md`` is never selected."""

    def select(path: str) -> str | None:
        folder, _, name = path.rpartition("/")
        if not name.endswith(".md") or name.startswith("."):
            return None
        if not any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns):
            return None
        channel = sina_channel(path) or folder.rpartition("/")[2]
        return channel if channel and not channel.startswith(".") else None

    return select


def target_categories(channel: str) -> tuple[str, ...]:
    """The categories (and so the folder) of the channel's posts in our layout."""
    return (*SITE_CATEGORIES, channel)


@dataclass(frozen=True)
class Unreadable:
    """Why a file is no post: ``reason`` (``binary``, ``not_utf8``, ``no_front_matter``,
    ``bad_yaml``, ``no_title``) and a line for the log."""

    reason: str
    detail: str


@dataclass(frozen=True)
class LegacyPost:
    """One legacy post as read (and repaired, when ``repairs`` is not empty).

    ``text``: the post as it will be imported: the original text, or the repaired one.
    ``content``: everything after the closing ``---`` line. ``date``: the ``date`` line read as
    an instant (a local time is Beijing time), or None when it had none that reads (then the
    post was repaired with ``fallback_time``).
    """

    text: str
    title: str
    date: datetime | None
    headimg: str
    content: str
    repairs: tuple[str, ...] = ()

    @property
    def data(self) -> bytes:
        """The bytes to import."""
        return self.text.encode("utf-8")

    @cached_property
    def fingerprint(self) -> str:
        """What identifies the article whatever the run that wrote it: the text of its body
        (no tags, comments, styles, scripts or whitespace; entities decoded; the QR block left
        out) and its pictures (without the proxy), hashed."""
        return body_fingerprint(self.content)

    @cached_property
    def version(self) -> str:
        """Copies with the same ``version`` are one version of the article: the same title and
        content, the random ``picsum.photos`` head image and every other front matter line
        (the run's date, the layout of the categories) left out."""
        content = _PICSUM.sub("picsum", self.content).rstrip()
        digest = hashlib.sha256(f"{self.title}\0{content}".encode())
        return digest.hexdigest()


def body_fingerprint(content: str) -> str:
    """The identity of a body (see :attr:`LegacyPost.fingerprint`)."""
    pictures = [
        _CORS.sub("", html.unescape(src))
        for src in _IMG_SRC.findall(content)
        if _QR_IMAGE not in src
    ]
    text = _RAW_TEXT.sub(" ", _COMMENT.sub(" ", content))
    text = html.unescape(_TAG.sub(" ", text)).replace(_QR_TEXT, "")
    text = _SPACE.sub("", text)
    digest = hashlib.sha256("\n".join([text, *pictures]).encode())
    return digest.hexdigest()[:32]


def read_date(value: object) -> datetime | None:
    """A legacy ``date`` value as an instant: RFC-1123 (``Fri, 31 Dec 2021 03:06:00 GMT``), or
    a local time (``2021-11-26 07:21:47``, what the old writer wrote for feeds without a date:
    the runner's clock, read as Beijing time); None when it is neither."""
    if isinstance(value, datetime):  # YAML read a timestamp without a zone
        return value.replace(tzinfo=BEIJING) if value.tzinfo is None else value
    if not isinstance(value, str):
        return None
    text = value.strip()
    local = _LOCAL_TIME.match(text)
    if local is not None:
        try:
            year, month, day, hour, minute = (int(part) for part in local.groups()[:5])
            second = int(local.group(6) or 0)
            return datetime(year, month, day, hour, minute, second, tzinfo=BEIJING)
        except ValueError:
            return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def _unwrap(value: str) -> str:
    (
        """A scalar without the quotes the old writer wrapped around it, once or many times
    (``"""
        "title"
        """``)."""
    )
    text = value.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return text


# libyaml's parser when PyYAML has it: the pure-Python one costs more than all the rest of an
# import's reading (6 ms a post); both read YAML 1.1 with the same safe constructors.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(front: list[str]) -> dict[str, Any] | None:
    try:
        loaded = yaml.load("\n".join(front), Loader=_SAFE_LOADER)
    except Exception:  # yaml's errors, and what a hostile file makes the parser raise
        return None
    return loaded if isinstance(loaded, dict) else None


def _requote(front: list[str], keys: tuple[str, ...]) -> list[str]:
    lines = []
    for line in front:
        found = _KEY_LINE.match(line)
        if found is not None and found.group("key") in keys and found.group("value").strip():
            line = f"{found.group('key')}: {yaml_quote(_unwrap(found.group('value')))}"
        lines.append(line)
    return lines


def _raw_value(front: list[str], key: str) -> str | None:
    for line in front:
        found = _KEY_LINE.match(line)
        if found is not None and found.group("key") == key:
            return found.group("value").strip()
    return None


def _split(text: str) -> tuple[list[str], str, list[str]] | Unreadable:
    """``(front matter lines, content, repairs)``: the lines between the two ``---`` and what
    follows the closing one, and the ``---`` lines that had to be added."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    repairs = []
    if start < len(lines) and lines[start].rstrip() == "---":
        first = start + 1
    elif start < len(lines) and _KEY_LINE.match(lines[start]):
        first = start
        repairs.append("added the missing opening ---")
    else:
        return Unreadable("no_front_matter", "no front matter (no --- line)")
    closing = next((i for i in range(first, len(lines)) if lines[i].rstrip() == "---"), None)
    if closing is not None and not all(_FRONT_LINE.match(lines[i]) for i in range(first, closing)):
        closing = None  # a "---" in the body: the front matter was never closed
    if closing is None:
        end = next((i for i in range(first, len(lines)) if not _FRONT_LINE.match(lines[i])), None)
        if end is None or end == first:
            return Unreadable("no_front_matter", "no front matter (no closing --- line)")
        while end > first and not lines[end - 1].strip():
            end -= 1
        front = lines[first:end]
        content = "\n".join(["", *lines[end:]]) if end < len(lines) else ""
        repairs.append("added the missing closing ---")
    else:
        front = lines[first:closing]
        content = "\n".join(lines[closing + 1 :])
    return front, content, repairs


def read_legacy_post(data: bytes, fallback_time: datetime) -> LegacyPost | Unreadable:
    """The legacy post ``data`` holds, repaired when Hexo would drop or misread it, or why it
    is no post. ``fallback_time`` (the commit's or the file's time) replaces a date that does
    not read. A post that needs no repair keeps its bytes exactly (``text`` is ``data``)."""
    if b"\0" in data:
        return Unreadable("binary", "a binary file (NUL bytes)")
    try:
        original = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Unreadable("not_utf8", f"not UTF-8 ({exc.reason} at byte {exc.start})")
    split = _split(original)
    if isinstance(split, Unreadable):
        return split
    front, content, repairs = split
    if not any(line.strip() for line in front):
        return Unreadable("no_title", "the front matter is empty")
    metadata = _load(front)
    if metadata is None or not isinstance(metadata.get("title"), str):
        for keys in (("title",), _REQUOTED):
            candidate = _requote(front, keys)
            metadata = _load(candidate)
            if metadata is not None and isinstance(metadata.get("title"), str):
                front = candidate
                repairs.append(f"re-quoted {', '.join(keys)} (the front matter was not valid YAML)")
                break
        else:
            if metadata is not None and "title" not in metadata:
                return Unreadable("no_title", "the front matter has no title")
            return Unreadable("bad_yaml", "the front matter is not valid YAML")
    title = str(metadata["title"]).strip()
    if not title:
        return Unreadable("no_title", "the front matter has an empty title")
    date = read_date(metadata.get("date"))
    if date is None:
        raw = _raw_value(front, "date")
        fixed = f"date: {rfc1123(fallback_time)}"
        if raw is None:
            front = [*front, fixed]
        else:
            front = [fixed if _raw_value([line], "date") is not None else line for line in front]
        repairs.append(f"date {raw!r} does not read; the commit's time put in its place")
    if _NUNJUCKS.search(content):
        content = content.replace("{", "&#123;").replace("}", "&#125;")
        repairs.append("escaped { and } (Hexo's Nunjucks would read the body as tags)")
    headimg = metadata.get("headimg", metadata.get("thumbnail", ""))
    # A repaired post is laid out as the old writer did, whatever the original had before "---".
    text = "\n---\n" + "\n".join(front) + "\n---\n" + content if repairs else original
    return LegacyPost(
        text=text,
        title=title,
        date=date,
        headimg=headimg if isinstance(headimg, str) else "",
        content=content,
        repairs=tuple(repairs),
    )


def first_picture(content: str) -> str:
    """The ``src`` of the content's first ``<img>`` (without the proxy), or ``''``."""
    found = _IMG_SRC.search(content)
    return _CORS.sub("", html.unescape(found.group(1))) if found else ""


def normalize_post(post: LegacyPost, channel: str, moment: datetime) -> bytes:
    """The post in today's exact format (``--normalize``): our front matter (keys, order,
    quoting, categories ``金融``/``新浪财经``/``channel``, ``author: 新浪财经``), image URLs
    routed through the ``cors.zfour.workers.dev`` proxy restored to the original, a random
    ``picsum.photos`` head image replaced by the body's first picture (or ``''``), the date in
    RFC-1123 GMT (``moment`` when the post had none that reads). The content is kept otherwise."""
    content = _CORS.sub("", post.content)
    headimg = _CORS.sub("", post.headimg)
    if not headimg or _PICSUM.fullmatch(headimg):
        headimg = first_picture(content)
    front = FrontMatter(
        title=post.title,
        date=post.date or moment,
        categories=target_categories(channel),
        author=SITE_AUTHOR,
    )
    return render_post(front, headimg, content)
