"""Fixtures only; shared helpers live in the ``utils`` package (``tests/utils/``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from utils import crawl
from utils.content import GOLDEN
from utils.mocksina import MockSina


@pytest.fixture(autouse=True)
def _scrapy_subprocesses_only_in_e2e(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test not marked ``e2e`` that starts a ``scrapy`` subprocess fails, so that
    ``pytest -m "not e2e"`` stays in-process and fast."""
    if request.node.get_closest_marker("e2e") is None:
        monkeypatch.setattr(crawl, "SUBPROCESSES_ALLOWED", False)


@pytest.fixture
def mock_sina() -> Iterator[MockSina]:
    """The golden pages and their roll (155/1686), served on 127.0.0.1."""
    server = MockSina.from_golden(GOLDEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()
