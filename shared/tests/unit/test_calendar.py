"""Which days are working days, and the working days the citizen is told are left, each
count worked out by hand on a small 2026 calendar: Tết 16–20/02 (Monday to Friday),
Saturday 28/02 worked, the afternoon of Friday 06/03 off."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.calendar import Calendar, CalendarEntry, EntryKind, YearCalendar, working_days_left
from shared.contracts.events import VIETNAM

YEAR = YearCalendar(2026, (
    *(CalendarEntry(date(2026, 2, d), EntryKind.HOLIDAY, "Tết Nguyên đán") for d in range(16, 21)),
    CalendarEntry(date(2026, 2, 28), EntryKind.SWAPPED_WORKING_DAY, "Làm bù"),
    CalendarEntry(date(2026, 3, 6), EntryKind.HALF_DAY, "Nghỉ chiều", half="afternoon"),
    CalendarEntry(date(2026, 3, 10), EntryKind.HOLIDAY, "Lễ hội tỉnh",
                  agency_code="G01.306.000.000"),
))  # fmt: skip
CALENDAR = Calendar({2026: YEAR})


def vn(m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(2026, m, d, hh, mm, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    ("now", "due_at", "expected"),
    [
        # The due day itself, before or after the due moment: no whole day is left.
        (vn(2, 9, 7), vn(2, 9, 17), 0),
        (vn(2, 9, 18), vn(2, 9, 17), 0),
        # Monday to Friday of a plain week.
        (vn(2, 9, 10), vn(2, 13, 17), 4),
        # Over Tết and two weekends: only Monday 23/02 is a working day after Friday.
        (vn(2, 13, 9), vn(2, 23, 11), 1),
        # Late: minus the working days since the due day (Tết and the weekend not counted).
        (vn(2, 13, 17, 30), vn(2, 13, 17), 0),
        (vn(2, 23, 8), vn(2, 13, 17), -1),
        (vn(2, 25, 8), vn(2, 13, 17), -3),
        # A Saturday worked in exchange counts.
        (vn(2, 27, 9), vn(3, 2, 17), 2),
        # A half day off is still a day the due date can fall on.
        (vn(3, 5, 9), vn(3, 6, 11), 1),
        # Days are Vietnam's: 01:30 on Friday 13/02 is still Thursday in UTC.
        (datetime(2026, 2, 12, 18, 30, tzinfo=UTC), datetime(2026, 2, 13, 10, tzinfo=UTC), 0),
        # A year not entered knows only the solar holidays: 01/01/2027 is off.
        (datetime(2026, 12, 31, 9, tzinfo=VIETNAM), datetime(2027, 1, 4, 9, tzinfo=VIETNAM), 1),
    ],
)
def test_working_days_left(now: datetime, due_at: datetime, expected: int) -> None:
    assert working_days_left(CALENDAR, due_at, now) == expected


def test_an_agency_day_off_counts_only_for_that_agency_and_its_units() -> None:
    district = Calendar({2026: YEAR}, {"G01.306.058.000", "G01.306.000.000"})
    assert working_days_left(district, vn(3, 11), vn(3, 9)) == 1
    assert working_days_left(CALENDAR, vn(3, 11), vn(3, 9)) == 2


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        working_days_left(CALENDAR, datetime(2026, 3, 2, 17), vn(3, 2))


def test_an_agency_entry_applies_to_its_units_and_not_to_others() -> None:
    year = YearCalendar(2025, (
        CalendarEntry(date(2025, 3, 12), EntryKind.HOLIDAY, "Lễ hội địa phương",
                      agency_code="G01.306.000.000"),
    ))  # fmt: skip
    years = {2025: year}
    district = Calendar(years, {"G01.306.058.000", "G01.306.000.000"})
    other = Calendar(years, {"G01.394.000.000"})
    assert not district.is_working_day(date(2025, 3, 12))
    assert other.is_working_day(date(2025, 3, 12))


def test_a_year_not_entered_still_knows_the_solar_holidays() -> None:
    calendar = Calendar({})
    assert not calendar.is_working_day(date(2030, 9, 2))
    assert calendar.is_working_day(date(2030, 9, 3))


def test_validation_names_what_is_wrong() -> None:
    bad = YearCalendar(2025, (
        CalendarEntry(date(2024, 12, 31), EntryKind.HOLIDAY, "Sai năm"),
        CalendarEntry(date(2025, 4, 28), EntryKind.SWAPPED_WORKING_DAY, "Thứ Hai"),
        CalendarEntry(date(2025, 4, 27), EntryKind.COMPENSATORY_DAY_OFF, "Chủ nhật"),
        CalendarEntry(date(2025, 3, 12), EntryKind.HALF_DAY, "Thiếu buổi"),
        CalendarEntry(date(2025, 3, 12), EntryKind.HOLIDAY, "Trùng"),
    ))  # fmt: skip
    problems = bad.validate()
    assert len(problems) == 5
    assert any("không thuộc năm 2025" in p for p in problems)
    assert any("thứ Bảy hoặc Chủ nhật" in p for p in problems)
