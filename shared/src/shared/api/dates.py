"""Dates and moments a request may name, within the years the system reasons about.

A report period, an appointment or a deadline preview in year 1 or 9999 is no one's
intent, and the day arithmetic behind them runs off Python's calendar (`date.max` is
9999-12-31: the day after a period ending then, or a due date counted from then, cannot be
represented). Such a value is refused as invalid input (422 naming the field) before any
use case sees it; the range is in the OpenAPI schema as well.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, TypeVar

from pydantic import AfterValidator, AwareDatetime, WithJsonSchema

FIRST_YEAR = 2000
LAST_YEAR = 2100
OUT_OF_RANGE = f"Ngày phải nằm trong khoảng năm {FIRST_YEAR}–{LAST_YEAR}."

# JSON Schema bounds no date, so the range is a pattern beside the format: a day of the
# years 2000 to 2100. The whole value, not only its year: a generator told only the year
# draws dates of any year and discards nearly all.
_DAY = r"(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
_OFFSET = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"

When = TypeVar("When", date, datetime)


def within_range(value: When) -> When:
    """`value`, if its year is one the system reasons about."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(OUT_OF_RANGE)
    return value


Day = Annotated[
    date,
    AfterValidator(within_range),
    WithJsonSchema({"type": "string", "format": "date", "pattern": f"^{_DAY}$"}),
]
Moment = Annotated[
    AwareDatetime,
    AfterValidator(within_range),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": f"^{_DAY}T{_TIME}{_OFFSET}$"}
    ),
]
