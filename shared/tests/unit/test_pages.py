"""A list's page: the first `limit` rows, and a cursor only when more rows were there."""

from __future__ import annotations

import pytest

from shared.pages import split_page


@pytest.mark.parametrize(
    ("offset", "limit", "fetched", "cursor"),
    [(0, 3, 3, None), (0, 3, 4, "3"), (6, 3, 4, "9"), (6, 3, 0, None)],
)
def test_a_next_page_only_when_more_rows_were_there(
    offset: int, limit: int, fetched: int, cursor: str | None
) -> None:
    rows = list(range(offset, offset + fetched))
    page, next_cursor = split_page(rows, limit, lambda _: str(offset + limit))
    assert list(page) == rows[:limit]
    assert next_cursor == cursor


def test_the_cursor_names_the_last_row_of_the_page() -> None:
    page, cursor = split_page(["a", "b", "c"], 2, lambda row: f"after:{row}")
    assert (list(page), cursor) == (["a", "b"], "after:b")
