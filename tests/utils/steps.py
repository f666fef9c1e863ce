"""newsspider's ``async`` steps run to the end without an event loop.

With no running loop (and ``WORKER_PROCESSES=0``, or any pool before the crawl starts) the
worker pool does its work in this process, so a pipeline step or an article callback never
suspends: it can be driven to completion here, with no reactor and no crawl.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _finish(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise AssertionError("the step waited for something; it cannot finish without a loop")


def completed(result: Any) -> Any:
    """The value of an ``async def`` step (a coroutine); other values as they are."""
    return _finish(result) if inspect.iscoroutine(result) else result


def drained(results: AsyncIterator[T]) -> list[T]:
    """Everything an ``async def`` generator (an article callback, say) yields, in order."""

    async def collect() -> list[T]:
        return [value async for value in results]

    return _finish(collect())
