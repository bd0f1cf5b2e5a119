"""The deadline engine on the hard cases, each expected date worked out by hand from the
shipped calendars (2025: Tết 27–31/01, Giỗ Tổ 07/04, Saturday 26/04 worked for 02/05 off,
30/04–01/05, 01–02/09; 2026: Tết 16–20/02)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from shared.calendar import Calendar, CalendarEntry, EntryKind, YearCalendar
from shared.contracts.events import VIETNAM
from workflow.domain.calendar import shipped_years
from workflow.domain.deadlines import (
    WORKING_DAY,
    DeadlineEngine,
    OfficeHours,
    rule_set_for,
    supplement_days,
)

ENGINE = DeadlineEngine(Calendar(shipped_years()))
H = timedelta(hours=1)


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    ("received", "days", "expected"),
    [
        # An ordinary Monday morning: the clock starts at once, three days later same hour.
        (vn(2025, 3, 10, 9, 0), 3, vn(2025, 3, 13, 9, 0)),
        # Tết 2025 across a weekend: Friday 24/01 10:00 + 2 days skips 25/01–02/02.
        (vn(2025, 1, 24, 10, 0), 2, vn(2025, 2, 4, 10, 0)),
        # Tết 2026 (16–20/02): received Friday 13/02 at 15:01, after the cut-off: counts
        # from Monday 23/02 07:00; one day later is Monday 17:00.
        (vn(2026, 2, 13, 15, 1), 1, vn(2026, 2, 23, 17, 0)),
        # The 2025 swapped Saturday: 26/04 is a working day and counts.
        (vn(2025, 4, 25, 9, 0), 1, vn(2025, 4, 26, 9, 0)),
        # ... and 30/04–02/05 are off: Tuesday 29/04 09:00 + 1 day = Monday 05/05 09:00.
        (vn(2025, 4, 29, 9, 0), 1, vn(2025, 5, 5, 9, 0)),
        # Receipt at 15:01 on the Friday before 01–02/09/2025: counts from Wednesday 03/09
        # 07:00; three days later is Friday 05/09 17:00.
        (vn(2025, 8, 29, 15, 1), 3, vn(2025, 9, 5, 17, 0)),
        # ... at 14:59 the same Friday, the clock starts at once: 2 h 01 min that day,
        # then Wed, Thu, and 5 h 59 min into Friday 05/09 (07:00–11:30, 13:30–14:59).
        (vn(2025, 8, 29, 14, 59), 3, vn(2025, 9, 5, 14, 59)),
        # In the lunch break: from 13:30 the same day; a day later ends exactly at the end
        # of Tuesday's morning period, 11:30, not at 13:30.
        (vn(2025, 3, 10, 12, 15), 1, vn(2025, 3, 11, 11, 30)),
        # At a Saturday-morning desk: reception, not working time; from Monday 07:00.
        (vn(2025, 3, 15, 9, 0), 1, vn(2025, 3, 17, 17, 0)),
        # Exactly 17:00: after the cut-off, next working day.
        (vn(2025, 3, 10, 17, 0), 1, vn(2025, 3, 11, 17, 0)),
        # Before the desk opens: from 07:00 the same day; a day ends at 17:00 that day.
        (vn(2025, 3, 10, 6, 30), 1, vn(2025, 3, 10, 17, 0)),
    ],
)
def test_due_dates_of_the_hard_cases(received: datetime, days: int, expected: datetime) -> None:
    assert ENGINE.due_at(received, days) == expected


def test_a_procedure_cutoff_overrides_the_default() -> None:
    received = vn(2025, 3, 10, 16, 0)
    assert ENGINE.counted_from(received) == vn(2025, 3, 11, 7, 0)
    assert ENGINE.counted_from(received, time(16, 30)) == received


def test_two_supplement_rounds_move_the_due_date_by_exactly_the_paused_working_time() -> None:
    received = vn(2025, 4, 21, 8, 0)  # Monday
    due = ENGINE.due_at(received, 5)
    assert due == vn(2025, 4, 26, 8, 0)  # the swapped Saturday counts
    # Round 1: Tuesday 22/04 10:00 to Wednesday 23/04 10:00 = one working day.
    counted_from = ENGINE.counted_from(received)
    due = ENGINE.resume(
        due, vn(2025, 4, 22, 10, 0), vn(2025, 4, 23, 10, 0), counted_from=counted_from
    )
    assert due == vn(2025, 4, 28, 8, 0)  # 7 h on the swapped Saturday, Sunday off, 1 h Monday
    # Round 2 across the holiday: Monday 28/04 16:00 to Tuesday 06/05 08:00: 1 h on 28/04,
    # 8 h on 29/04, nothing 30/04–05/05 but the 5th, 8 h on 05/05, 1 h on 06/05.
    paused = ENGINE.working_time_between(vn(2025, 4, 28, 16, 0), vn(2025, 5, 6, 8, 0))
    assert paused == 18 * H
    due = ENGINE.resume(
        due, vn(2025, 4, 28, 16, 0), vn(2025, 5, 6, 8, 0), counted_from=counted_from
    )
    # 28/04 08:00 + 18 h: 7 h on Monday, 8 h on Tuesday, 30/04–04/05 off, 3 h on 05/05.
    assert due == vn(2025, 5, 5, 10, 0)


S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("received", "days", "cutoff", "rounds", "expected"),
    [
        # The case found in use: received Wednesday 12/03/2025 at 15:55, after the 15:00
        # cut-off, so counted from Thursday 07:00 and due Friday 17:00; sent back for a
        # supplement 2 s later and supplemented 2 s after that. Nothing of the pause is
        # inside the counted period: the due date stays Friday 17:00 (it was moved to
        # Monday 07:00:02).
        (vn(2025, 3, 12, 15, 55), 2, None,
         [(vn(2025, 3, 12, 15, 55) + 2 * S, vn(2025, 3, 12, 15, 55) + 4 * S)],
         vn(2025, 3, 14, 17, 0)),
        # Ends before the clock would have started (16:30 the same day): nothing moves.
        (vn(2025, 3, 12, 15, 55), 2, None,
         [(vn(2025, 3, 12, 15, 56), vn(2025, 3, 12, 16, 30))], vn(2025, 3, 14, 17, 0)),
        # Starts before the clock, ends inside it (Thursday 09:00): only Thursday
        # 07:00–09:00 counts, so Friday 17:00 + 2 h = Monday 09:00 (not + 3 h 05).
        (vn(2025, 3, 12, 15, 55), 2, None,
         [(vn(2025, 3, 12, 15, 55), vn(2025, 3, 13, 9, 0))], vn(2025, 3, 17, 9, 0)),
        # Across the lunch break: a procedure cut-off at 10:30 and a receipt at 11:00 count
        # from Tuesday 07:00; a pause 11:00–14:00 Monday (1 h of office time) moves nothing.
        (vn(2025, 3, 10, 11, 0), 1, time(10, 30),
         [(vn(2025, 3, 10, 11, 0), vn(2025, 3, 10, 14, 0))], vn(2025, 3, 11, 17, 0)),
        # Across the weekend: received Friday 14/03 15:30, counted from Monday 07:00, due
        # Monday 17:00; paused until Monday 08:00: 1 h counts (not Friday's 1 h 30 too).
        (vn(2025, 3, 14, 15, 30), 1, None,
         [(vn(2025, 3, 14, 15, 30), vn(2025, 3, 17, 8, 0))], vn(2025, 3, 18, 8, 0)),
        # Across the holiday: Friday 29/08/2025 15:30 counts from Wednesday 03/09 07:00
        # (01–02/09 off), due Wednesday 17:00; paused until 07:30 on the 3rd: 30 min.
        (vn(2025, 8, 29, 15, 30), 1, None,
         [(vn(2025, 8, 29, 15, 30), vn(2025, 9, 3, 7, 30))], vn(2025, 9, 4, 7, 30)),
        # Several rounds: the first before the clock (moves nothing), the second inside it
        # (Thursday 09:00–10:00: 1 h), the third across the weekend (Friday 16:00 to
        # Monday 08:00: 2 h): Friday 17:00 + 3 h = Monday 10:00.
        (vn(2025, 3, 12, 15, 55), 2, None,
         [(vn(2025, 3, 12, 15, 56), vn(2025, 3, 12, 16, 30)),
          (vn(2025, 3, 13, 9, 0), vn(2025, 3, 13, 10, 0)),
          (vn(2025, 3, 14, 16, 0), vn(2025, 3, 17, 8, 0))],
         vn(2025, 3, 17, 10, 0)),
    ],
)  # fmt: skip
def test_only_paused_working_time_inside_the_counted_period_moves_the_due_date(
    received: datetime,
    days: int,
    cutoff: time | None,
    rounds: list[tuple[datetime, datetime]],
    expected: datetime,
) -> None:
    counted_from = ENGINE.counted_from(received, cutoff)
    due = ENGINE.due_at(received, days, cutoff)
    for paused, resumed in rounds:
        due = ENGINE.resume(due, paused, resumed, counted_from=counted_from)
    assert due == expected


def test_the_paused_working_time_is_the_part_after_the_clock_started() -> None:
    counted_from = ENGINE.counted_from(vn(2025, 3, 12, 15, 55))  # Thursday 07:00
    assert counted_from == vn(2025, 3, 13, 7, 0)
    paused = ENGINE.paused_working_time(
        vn(2025, 3, 12, 15, 55), vn(2025, 3, 13, 9, 0), counted_from=counted_from
    )
    assert paused == 2 * H
    # Before receipt there is no clock to stop.
    assert ENGINE.paused_working_time(
        vn(2025, 3, 12, 9, 0), vn(2025, 3, 13, 9, 0), counted_from=None
    ) == timedelta(0)


def test_due_soon_overdue_and_the_apology_window() -> None:
    due = vn(2025, 3, 14, 17, 0)  # Friday evening
    assert ENGINE.due_soon_at(due) == vn(2025, 3, 14, 7, 0)
    assert not ENGINE.is_due_soon(due, vn(2025, 3, 13, 16, 59))
    assert ENGINE.is_due_soon(due, vn(2025, 3, 14, 7, 0))
    assert not ENGINE.is_due_soon(due, vn(2025, 3, 14, 17, 0))  # nothing left: due, not soon
    assert ENGINE.working_days_left(due, vn(2025, 3, 12, 17, 0)) == 2.0
    assert ENGINE.working_days_left(due, vn(2025, 3, 17, 11, 0)) == -0.5
    assert ENGINE.can_extend(due, vn(2025, 3, 14, 7, 0))
    assert not ENGINE.can_extend(due, vn(2025, 3, 14, 7, 1))


def test_a_half_day_off_counts_only_the_other_half() -> None:
    year = YearCalendar(
        2025, (CalendarEntry(date(2025, 3, 12), EntryKind.HALF_DAY, "Họp", "afternoon"),)
    )
    engine = DeadlineEngine(Calendar({**shipped_years(), 2025: year}))
    assert engine.working_time_between(vn(2025, 3, 12, 0), vn(2025, 3, 13, 0)) == 4.5 * H
    # Received in the afternoon off: from Thursday morning.
    assert engine.counted_from(vn(2025, 3, 12, 14, 0)) == vn(2025, 3, 13, 7, 0)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        ENGINE.due_at(datetime(2025, 3, 10, 9, 0), 1)


def test_office_hours_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="must be ordered"):
        OfficeHours(periods=((time(13, 0), time(17, 0)), (time(7, 0), time(11, 0))))


def test_each_dossier_keeps_the_rule_set_in_force_at_receipt() -> None:
    assert rule_set_for(vn(2021, 6, 1, 9)).key == "nd-61-2018"
    assert rule_set_for(vn(2024, 6, 1, 9)).key == "nd-107-2021"
    assert rule_set_for(vn(2025, 6, 30, 23, 59)).key == "nd-107-2021"
    assert rule_set_for(vn(2025, 7, 1, 0, 1)).key == "nd-118-2025"


def test_shipped_calendars_are_valid_and_round_trip() -> None:
    for year, calendar in shipped_years().items():
        assert calendar.validate() == [], year
        again = YearCalendar.from_json(calendar.to_json())
        assert (again.year, again.source, set(again.entries)) == (
            year,
            calendar.source,
            set(calendar.entries),
        )
    assert set(shipped_years()) >= {2024, 2025, 2026, 2027}
    assert WORKING_DAY == 8 * H


@pytest.mark.parametrize(
    ("procedure_days", "expected"),
    [
        # Hard cases first: a catalogue silent on it, or with a value no deadline can
        # have, falls back to the rules; otherwise the procedure's own.
        (None, 10),
        (0, 10),
        (-3, 10),
        (5, 5),
        (15, 15),
    ],
)
def test_the_supplement_deadline_is_the_procedures_else_the_rules(
    procedure_days: int | None, expected: int
) -> None:
    rules = rule_set_for(vn(2025, 7, 2, 9))
    assert supplement_days(procedure_days, rules) == expected


def test_the_citizen_is_reminded_one_working_day_before_the_supplement_deadline() -> None:
    # Asked Friday 14/03/2025 16:00 (after the cut-off) with 2 working days: counted from
    # Monday 07:00, due Tuesday 17:00; reminded Tuesday 07:00.
    asked = vn(2025, 3, 14, 16, 0)
    due = ENGINE.supplement_due_at(asked, 2)
    assert due == vn(2025, 3, 18, 17, 0)
    assert ENGINE.supplement_reminder_at(asked, due) == vn(2025, 3, 18, 7, 0)
    # Hard case: asked Friday 29/08/2025 10:00 with one day, due Wednesday 03/09 10:00
    # across 01–02/09: one working day before is the request itself, so no reminder (the
    # request's own message says the deadline).
    asked = vn(2025, 8, 29, 10, 0)
    due = ENGINE.supplement_due_at(asked, 1)
    assert due == vn(2025, 9, 3, 10, 0)
    assert ENGINE.supplement_reminder_at(asked, due) is None
