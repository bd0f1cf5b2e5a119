"""The public list and a report's period: pure rules, nothing running."""

from __future__ import annotations

from datetime import date

import pytest

from shared.errors import Invalid
from stats.domain.period import Period
from stats.domain.public import mask_name, shown_name


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("", ""),
        ("Bích", "B***"),
        ("  Nguyễn   Thị  Bích ", "Nguyễn T*** B***"),
        ("Đặng Ánh", "Đặng Á***"),
        ("Nguyễn Thị Bích", "Nguyễn T*** B***"),
    ],
)
def test_the_public_sees_the_family_name_and_initials(name: str, masked: str) -> None:
    assert mask_name(name) == masked
    assert shown_name(name, full=False) == masked


def test_names_in_full_only_when_the_service_is_set_to() -> None:
    assert shown_name(None, full=False) == ""
    assert shown_name(None, full=True) is None
    assert shown_name("Nguyễn Thị Bích", full=True) == "Nguyễn Thị Bích"


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2025, 1, 2), date(2025, 1, 1), "to"),
        (date(2020, 1, 1), date(2025, 1, 5), "from"),  # 1831 days: one over 5 × 366
    ],
)
def test_a_period_backwards_or_over_five_years_is_refused(
    start: date, end: date, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        Period(start, end).check()
    assert refused.value.errors is not None
    assert refused.value.errors[0]["field"] == field


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2025, 1, 1), date(2025, 1, 1)), (date(2020, 1, 1), date(2025, 1, 4))],
)
def test_one_day_and_exactly_five_years_are_periods(start: date, end: date) -> None:
    Period(start, end).check()
