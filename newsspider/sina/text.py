"""Text from Sina that Python can hold but not write: lone UTF-16 surrogates.

A JSON string may carry half of a surrogate pair (``"\\ud83d"``, what an upstream cut in UTF-16
leaves); Python keeps it, and the first attempt to encode the text (a file name, the post, the
index) raises. Such text is repaired once, where it enters the crawl.
"""

from __future__ import annotations

import re
from typing import overload

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


@overload
def repair_text(text: str) -> str: ...
@overload
def repair_text(text: None) -> None: ...
def repair_text(text: str | None) -> str | None:
    """``text`` with every lone surrogate replaced by U+FFFD; None stays None."""
    if text is None:
        return None
    return _LONE_SURROGATE.sub(REPLACEMENT, text)
