"""What the test servers share: ``with`` starts one and stops it, however the block ends."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """A server with ``start()`` and ``stop()``; ``with server:`` runs it for the block."""

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
