"""``scrapy channels``: the roll channels newsspider knows, for ``-a channels=…``."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand

from newsspider.sina.channels import CHANNEL_TABLE


def channel_table() -> str:
    """The channel table as aligned text: name, pageid, lid, category title."""
    rows = [("name", "pageid", "lid", "category")]
    rows += [(c.name, str(c.pageid), str(c.lid), c.title) for c in CHANNEL_TABLE]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[3]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


class Command(ScrapyCommand):
    """Print the channel table."""

    requires_project = True
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        return "List the Sina roll channels (for -a channels=NAME,…; or all)"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        print(channel_table())
