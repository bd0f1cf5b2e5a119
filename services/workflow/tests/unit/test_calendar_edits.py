"""Editing a year's calendar: what is refused, and what needs an explicit confirmation
(pure rules, nothing running)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from shared.calendar import CalendarEntry, EntryKind, YearCalendar
from workflow.domain.calendar import (
    describe_changes,
    missing_statutory_holidays,
    review_edit,
    shipped_years,
)

Y2025 = shipped_years()[2025]


def without(calendar: YearCalendar, *days: date) -> YearCalendar:
    return replace(calendar, entries=tuple(e for e in calendar.entries if e.day not in days))


def test_every_shipped_year_keeps_its_statutory_holidays() -> None:
    for year, calendar in shipped_years().items():
        assert missing_statutory_holidays(calendar) == [], year


@pytest.mark.parametrize(
    ("calendar", "missing"),
    [
        # The edit accepted before: a year emptied.
        (replace(Y2025, entries=()), ["Lịch năm 2025 không có ngày nghỉ nào.",
                                      "Thiếu ngày nghỉ lễ 01/01/2025 (Tết Dương lịch).",
                                      "Thiếu ngày nghỉ lễ 30/04/2025 (Ngày Chiến thắng).",
                                      "Thiếu ngày nghỉ lễ 01/05/2025 (Ngày Quốc tế lao động).",
                                      "Thiếu ngày nghỉ lễ 02/09/2025 (Quốc khánh)."]),
        (without(Y2025, date(2025, 4, 30)), ["Thiếu ngày nghỉ lễ 30/04/2025 (Ngày Chiến thắng)."]),
        (without(Y2025, date(2025, 9, 2), date(2025, 1, 1)),
         ["Thiếu ngày nghỉ lễ 01/01/2025 (Tết Dương lịch).",
          "Thiếu ngày nghỉ lễ 02/09/2025 (Quốc khánh)."]),
        # Made a half day, or a working day for one agency only: the nation still works it.
        (replace(without(Y2025, date(2025, 5, 1)), entries=(
            *without(Y2025, date(2025, 5, 1)).entries,
            CalendarEntry(date(2025, 5, 1), EntryKind.HALF_DAY, "Nửa ngày", half="morning"))),
         ["Thiếu ngày nghỉ lễ 01/05/2025 (Ngày Quốc tế lao động)."]),
        (replace(without(Y2025, date(2025, 1, 1)), entries=(
            *without(Y2025, date(2025, 1, 1)).entries,
            CalendarEntry(date(2025, 1, 1), EntryKind.HOLIDAY, "Tết", agency_code="G01.306"))),
         ["Thiếu ngày nghỉ lễ 01/01/2025 (Tết Dương lịch)."]),
        # 2027: 1/5 is a Saturday, off anyway; its compensatory Monday is entered apart.
        (shipped_years()[2027], []),
        (without(shipped_years()[2027], date(2027, 5, 3)), []),
    ],
)  # fmt: skip
def test_a_year_without_a_statutory_holiday_is_refused(
    calendar: YearCalendar, missing: list[str]
) -> None:
    assert missing_statutory_holidays(calendar) == missing


EXTRA = CalendarEntry(date(2025, 11, 20), EntryKind.HOLIDAY, "Nghỉ đột xuất")


def with_(calendar: YearCalendar, *entries: CalendarEntry) -> YearCalendar:
    return replace(calendar, entries=(*calendar.entries, *entries))


@pytest.mark.parametrize(
    ("new", "today", "announced", "changed", "past", "due"),
    [
        # Nothing changes but a name: nothing to confirm.
        (replace(Y2025, entries=tuple(replace(e, name=e.name + " ") for e in Y2025.entries)),
         date(2025, 12, 1), [], (), (), ()),
        # A future day no due date falls on: no confirmation.
        (with_(Y2025, EXTRA), date(2025, 11, 1), [date(2025, 11, 21)],
         (date(2025, 11, 20),), (), ()),
        # A future day an announced due date falls on.
        (with_(Y2025, EXTRA), date(2025, 11, 1), [date(2025, 11, 20)],
         (date(2025, 11, 20),), (), (date(2025, 11, 20),)),
        # A day already past, and today itself (dossiers were counted with it).
        (with_(Y2025, EXTRA), date(2025, 11, 25), [], (date(2025, 11, 20),),
         (date(2025, 11, 20),), ()),
        (with_(Y2025, EXTRA), date(2025, 11, 20), [], (date(2025, 11, 20),),
         (date(2025, 11, 20),), ()),
        # A holiday turned into a half day, in the past.
        (replace(Y2025, entries=tuple(
            replace(e, kind=EntryKind.HALF_DAY, half="afternoon") if e.day == date(2025, 4, 7)
            else e for e in Y2025.entries)),
         date(2025, 6, 1), [], (date(2025, 4, 7),), (date(2025, 4, 7),), ()),
        # An entry for one agency only changes that day too.
        (with_(Y2025, replace(EXTRA, agency_code="G01.306.000.000")), date(2025, 12, 1), [],
         (date(2025, 11, 20),), (date(2025, 11, 20),), ()),
    ],
)  # fmt: skip
def test_changes_to_past_days_or_announced_due_dates_need_confirmation(
    new: YearCalendar,
    today: date,
    announced: list[date],
    changed: tuple[date, ...],
    past: tuple[date, ...],
    due: tuple[date, ...],
) -> None:
    review = review_edit(Y2025, new, today=today, announced=announced)
    assert (review.changed, review.past, review.announced) == (changed, past, due)
    assert review.needs_confirmation == bool(past or due)
    if review.needs_confirmation:
        assert "confirm: true" in review.reason()
        assert all(f"{d:%d/%m/%Y}" in review.reason() for d in (*past, *due))


def test_a_first_entry_of_a_year_changes_every_day_it_names() -> None:
    review = review_edit(None, Y2025, today=date(2024, 12, 1), announced=[date(2025, 1, 1)])
    assert len(review.changed) == len({e.day for e in Y2025.entries})
    assert review.announced == (date(2025, 1, 1),)
    assert review.past == ()


def test_the_audit_records_what_was_removed_and_added() -> None:
    new = with_(without(Y2025, date(2025, 4, 7)), EXTRA)
    changes = describe_changes(Y2025, new)
    assert [(c["change"], c["day"]) for c in changes] == [
        ("removed", "2025-04-07"), ("added", "2025-11-20"),
    ]  # fmt: skip
    assert describe_changes(Y2025, Y2025) == []
