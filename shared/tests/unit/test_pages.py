"""A list's page: the first `limit` rows, and a cursor only when more rows were there; the
moment a cursor carries read back only if the list can have handed it out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.pages import cursor_moment, split_page


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


@pytest.mark.parametrize(
    "text",
    ["2024-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "x"],
)
def test_a_cursor_moment_the_list_cannot_have_handed_out_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (every refusal here is a ValueError)
        cursor_moment(text)


def test_a_cursor_moment_handed_out_reads_back() -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert cursor_moment(at.isoformat()) == at
