"""The distributed mode's Redis operations, against a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsspider.archive.index import IndexRow
from newsspider.distributed.connection import unreachable
from newsspider.distributed.inflight import InFlightStore
from newsspider.distributed.keys import Keys
from newsspider.distributed.knowledge import publish, replace

from utils.redis_server import RedisServer, free_port

KEYS = Keys("t")


@pytest.fixture
def client(tmp_path):
    with RedisServer(tmp_path / "redis") as server:
        yield server.client()


def row(n: int) -> IndexRow:
    return IndexRow(
        url=f"https://finance.sina.com.cn/china/doc-i{n:014d}.shtml",
        docid=None,
        channel="china",
        path=f"p/{n}.md",
        sha256="0" * 64,
        title=f"t{n}",
        intime=n,
        mtime=n,
        etag=None,
        last_modified=None,
        first_archived="2024-01-01T00:00:00+00:00",
        last_checked="2024-01-01T00:00:00+00:00",
    )


def test_replace_swaps_the_published_hash_in_one_step(client):
    publish(client, KEYS, [row(n) for n in range(5)])

    def rows() -> Iterator[IndexRow]:
        for n in range(100, 130):
            # While the new rows are written, workers still read the old hash, whole.
            assert client.hlen(KEYS.archived) == 5
            yield row(n)

    assert replace(client, KEYS, rows(), batch=7) == 30
    assert sorted(client.hkeys(KEYS.archived)) == sorted(row(n).url for n in range(100, 130))
    assert client.ttl(KEYS.archived) == -1  # the staging key's expiry is not kept
    assert client.keys("t:archived:*") == []


def test_replace_with_an_empty_index_clears_what_was_published(client):
    publish(client, KEYS, [row(1)])
    assert replace(client, KEYS, []) == 0
    assert not client.exists(KEYS.archived)


def test_a_taken_request_goes_back_as_it_was(client):
    store = InFlightStore(client, KEYS.requests)
    client.zadd(KEYS.requests, {"roll": 1, "article-a": -1, "article-b": 0})
    held = KEYS.inflight("run", "w1")
    assert store.take(held, "1", 20) == "article-a"
    assert store.take(held, "2", 20) == "article-b"
    assert client.zrange(KEYS.requests, 0, -1) == ["roll"]
    store.release(held, ["2"])
    assert store.held(KEYS.all_inflight("run")) == 1
    assert store.put_back(held) == 1
    assert client.zrange(KEYS.requests, 0, -1, withscores=True) == [
        ("article-a", -1.0),
        ("roll", 1.0),
    ]
    assert not client.exists(held)
    client.delete(KEYS.requests)
    assert store.take(held, "3", 20) is None


def test_a_dead_members_requests_go_back_once_and_only_if_it_stayed_silent(client):
    store = InFlightStore(client, KEYS.requests)
    members = KEYS.members("run")
    client.hset(members, "w1", "busy 100.000")
    held = KEYS.inflight("run", "w1")
    client.zadd(KEYS.requests, {"a": 0})
    store.take(held, "1", 20)
    # It beat again since it was seen silent: nothing happens.
    assert store.put_back(held, members, "w1", "busy 99.000") == -1
    assert store.held(KEYS.all_inflight("run")) == 1
    assert store.put_back(held, members, "w1", "busy 100.000") == 1
    assert not client.hexists(members, "w1")
    # A second live member that saw it silent too finds nothing to do.
    assert store.put_back(held, members, "w1", "busy 100.000") == -1
    assert client.zrange(KEYS.requests, 0, -1) == ["a"]


def test_unreachable_redis_is_one_line():
    problem = unreachable(f"redis://:secret@127.0.0.1:{free_port()}/0", timeout=1)
    assert problem is not None
    assert "cannot reach the Redis at redis://:***@127.0.0.1:" in problem
    assert "secret" not in problem
    assert "\n" not in problem
    assert "not a Redis URL" in (unreachable("http://127.0.0.1:1") or "")


def test_workers_find_an_article_by_its_docid_under_another_url(client):
    from dataclasses import replace as with_changes

    from newsspider.distributed.knowledge import RedisKnowledge

    first = with_changes(row(1), docid="comos:aaaaaaa0000001")
    replace(client, KEYS, [first, row(2)])
    knowledge = RedisKnowledge(client, KEYS)
    other = first.url.replace("/china/", "/roll/")
    found = knowledge.find_many([(other, "comos:aaaaaaa0000001"), (row(2).url, None), ("x", "y")])
    assert found == {other: first, row(2).url: row(2)}
    replace(client, KEYS, [row(2)])  # another archive: its docids replace the old ones too
    assert knowledge.find_many([(other, "comos:aaaaaaa0000001")]) == {}
    publish(client, KEYS, [first])
    assert knowledge.find_many([(other, "comos:aaaaaaa0000001")]) == {other: first}
