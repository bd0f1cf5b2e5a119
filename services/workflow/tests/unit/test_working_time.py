"""The working time a dossier used (reported with its result) and the last working moment
of a day (a new appointment), on the shipped calendars (2025: 01–02/09 off)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from shared.calendar import Calendar, CalendarEntry, EntryKind, YearCalendar
from shared.contracts.events import VIETNAM
from workflow.domain.calendar import shipped_years
from workflow.domain.deadlines import DeadlineEngine, OfficeHours, end_of_day, working_hours_used

ENGINE = DeadlineEngine(Calendar(shipped_years()))
HOUR = 3600


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    ("counted_from", "now", "paused_seconds", "hours"),
    [
        # Hard cases first: the clock never started (a pause recorded changes nothing).
        (None, vn(2025, 3, 10, 9), 0, None),
        (None, vn(2025, 3, 10, 9), 2 * HOUR, None),
        # More paused than worked (a pause measured on another calendar): none, never less.
        (vn(2025, 3, 10, 7), vn(2025, 3, 10, 9), 3 * HOUR, 0.0),
        # Nothing yet: signed the moment the clock started.
        (vn(2025, 3, 10, 7), vn(2025, 3, 10, 7), 0, 0.0),
        # Monday 07:00 to Tuesday 09:00: a day and two hours, less an hour paused.
        (vn(2025, 3, 10, 7), vn(2025, 3, 11, 9), HOUR, 9.0),
        # The lunch break, the night and the holidays are not working time.
        (vn(2025, 3, 10, 11), vn(2025, 3, 10, 14), 0, 1.0),
        (vn(2025, 8, 29, 16), vn(2025, 9, 3, 8), 0, 2.0),
        # Rounded to hundredths of an hour: 20 minutes.
        (vn(2025, 3, 10, 7), vn(2025, 3, 10, 7, 20), 0, 0.33),
    ],
)
def test_working_hours_used(
    counted_from: datetime | None, now: datetime, paused_seconds: int, hours: float | None
) -> None:
    assert working_hours_used(ENGINE, counted_from, now, paused_seconds) == hours


def _with(entry: CalendarEntry, hours: OfficeHours | None = None) -> DeadlineEngine:
    shipped = shipped_years()
    year = YearCalendar(2025, (*shipped[2025].entries, entry))
    return DeadlineEngine(Calendar({**shipped, 2025: year}), hours or OfficeHours())


AFTERNOON_OFF = CalendarEntry(date(2025, 3, 12), EntryKind.HALF_DAY, "Nghỉ chiều", "afternoon")
MORNING_OFF = CalendarEntry(date(2025, 3, 12), EntryKind.HALF_DAY, "Nghỉ sáng", "morning")
OWN_HOURS = OfficeHours(periods=((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0))))


@pytest.mark.parametrize(
    ("engine", "day", "end"),
    [
        # A half day off in the afternoon: the day ends with the morning.
        (_with(AFTERNOON_OFF), date(2025, 3, 12), vn(2025, 3, 12, 11, 30)),
        (_with(AFTERNOON_OFF, OWN_HOURS), date(2025, 3, 12), vn(2025, 3, 12, 11, 30)),
        # A morning off still ends at the close of the afternoon.
        (_with(MORNING_OFF), date(2025, 3, 12), vn(2025, 3, 12, 17, 0)),
        # Any other working day, and a swapped working Saturday.
        (ENGINE, date(2025, 3, 12), vn(2025, 3, 12, 17, 0)),
        (ENGINE, date(2025, 4, 26), vn(2025, 4, 26, 17, 0)),
    ],
)
def test_the_end_of_a_working_day(engine: DeadlineEngine, day: date, end: datetime) -> None:
    moment = end_of_day(engine, day)
    assert moment == end
    assert moment.tzinfo is UTC
