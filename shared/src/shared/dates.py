"""The years the system reasons about.

A report period, an appointment, a deadline preview or a list position in year 1 or 9999
is no one's intent, and the arithmetic behind them runs off the calendar: `date.max` is
9999-12-31, so the day after a period ending then, or a due date counted from then,
cannot be represented, and PostgreSQL cannot be sent a moment before year 1 in UTC. Such a
value is refused as the caller's mistake before any of that is attempted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar

FIRST_YEAR = 2000
LAST_YEAR = 2100
OUT_OF_RANGE = f"Ngày phải nằm trong khoảng năm {FIRST_YEAR}–{LAST_YEAR}."

When = TypeVar("When", date, datetime)


def within_range(value: When) -> When:
    """`value`, if its year is one the system reasons about; ValueError otherwise."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(OUT_OF_RANGE)
    return value
