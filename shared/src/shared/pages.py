"""Lists a page at a time (API.md: `{items, next_cursor}`).

A list query asks for `limit + 1` rows: the extra row's presence is what says another
page follows, without counting the whole list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from shared.dates import within_range

R = TypeVar("R")


def split_page(
    rows: Sequence[R], limit: int, cursor_after: Callable[[R], str]
) -> tuple[Sequence[R], str | None]:
    """The page (the first `limit` of `rows`, fetched as `limit + 1`) and the cursor after
    its last row, or None on the last page."""
    page = rows[:limit]
    return page, (cursor_after(page[-1]) if len(rows) > limit else None)


def cursor_moment(text: str) -> datetime:
    """The moment in a cursor a list handed out (ISO 8601 with its offset, of the system's
    years); ValueError for anything else, which only a forged cursor holds."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a cursor's moment carries its offset")
    return within_range(moment)
