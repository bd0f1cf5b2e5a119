"""An officer's action beyond the state machine: their own work, a result before
signature, the originals compared, and the apology letter's rules, on the shipped calendars
(2025: Saturday 26/04 worked, 30/04–01/05 and 01–02/09 off)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from shared.calendar import Calendar, CalendarEntry, EntryKind, YearCalendar
from shared.contracts.events import VIETNAM
from shared.errors import Conflict, Forbidden, Invalid
from workflow.domain.calendar import shipped_years
from workflow.domain.deadlines import DeadlineEngine
from workflow.domain.preconditions import (
    new_appointment,
    originals_checked,
    own_work,
    result_recorded,
    stop_reason,
    supplement_deadline_passed,
)

ENGINE = DeadlineEngine(Calendar(shipped_years()))
# Fixed, not random: the parameters name the tests, the same in every pytest worker.
ME = uuid.UUID("0a78d54a-d04b-48d1-9071-1bee466d0d45")
SOMEONE = uuid.UUID("48757935-87d1-455e-a0c2-6037f76c5055")


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    ("assignee", "refused"), [(SOMEONE, True), (None, False), (ME, False)], ids=str
)
def test_a_processor_works_on_their_own_or_unassigned_dossiers(
    assignee: uuid.UUID | None, refused: bool
) -> None:
    if refused:
        with pytest.raises(Forbidden, match="cán bộ khác"):
            own_work(ME, assignee)
    else:
        own_work(ME, assignee)


@pytest.mark.parametrize(("summary", "refused"), [(None, True), ("", True), ("Đã xử lý", False)])
def test_nothing_goes_for_signature_without_a_result(summary: str | None, refused: bool) -> None:
    if refused:
        with pytest.raises(Conflict, match="Chưa có kết quả"):
            result_recorded(summary)
    else:
        result_recorded(summary)


def test_the_result_is_handed_over_only_once_the_originals_are_compared() -> None:
    with pytest.raises(Invalid) as refused:
        originals_checked(False)
    assert refused.value.errors == [
        {"field": "originals_verified", "message": "Phải xác nhận đã đối chiếu."}
    ]
    originals_checked(True)


# Due Wednesday 03/09/2025 17:00, after the 01–02/09 holidays.
DUE = vn(2025, 9, 3, 17, 0)


@pytest.mark.parametrize(
    ("due_at", "now", "new_due_date", "expected"),
    [
        # The last moment with a whole working day ahead: Friday before the holidays at
        # 17:00, and on the holiday itself (Wednesday's 8 h are still ahead).
        (DUE, vn(2025, 8, 29, 17, 0), date(2025, 9, 10), vn(2025, 9, 10, 17, 0)),
        (DUE, vn(2025, 9, 1, 10, 0), date(2025, 9, 10), vn(2025, 9, 10, 17, 0)),
        # On the due date at opening time: still exactly one working day (07:00–17:00).
        (DUE, vn(2025, 9, 3, 7, 0), date(2025, 9, 4), vn(2025, 9, 4, 17, 0)),
        # A swapped working Saturday is a working day for the new appointment.
        (vn(2025, 4, 25, 17), vn(2025, 4, 21, 9), date(2025, 4, 26), vn(2025, 4, 26, 17)),
    ],
)
def test_an_apology_sets_the_end_of_a_later_working_day(
    due_at: datetime, now: datetime, new_due_date: date, expected: datetime
) -> None:
    moved = new_appointment(
        ENGINE, due_at=due_at, extended_at=None, now=now, new_due_date=new_due_date
    )
    assert moved == expected
    assert moved.tzinfo is UTC


@pytest.mark.parametrize(
    ("due_at", "extended_at", "now", "new_due_date", "refusal", "message"),
    [
        # A minute into the due date's working day: less than a working day is left.
        (DUE, None, vn(2025, 9, 3, 7, 1), date(2025, 9, 10), Conflict, "ít nhất một ngày"),
        # Already late.
        (DUE, None, vn(2025, 9, 4, 9, 0), date(2025, 9, 10), Conflict, "ít nhất một ngày"),
        # Not received yet: there is no appointment to move.
        (None, None, vn(2025, 8, 1, 9, 0), date(2025, 9, 10), Conflict, "ít nhất một ngày"),
        # Once per dossier, whatever else holds.
        (DUE, vn(2025, 8, 1), vn(2025, 8, 4, 9, 0), date(2025, 9, 10), Conflict, "một lần"),
        # The new date must come after the old one, in Vietnam days.
        (DUE, None, vn(2025, 8, 4, 9, 0), date(2025, 9, 3), Invalid, "sau ngày hẹn cũ"),
        (DUE, None, vn(2025, 8, 4, 9, 0), date(2025, 9, 1), Invalid, "sau ngày hẹn cũ"),
        # ... and be a working day: not a Saturday, not a holiday.
        (DUE, None, vn(2025, 8, 4, 9, 0), date(2025, 9, 6), Invalid, "ngày làm việc"),
        (vn(2025, 4, 25, 17), None, vn(2025, 4, 1, 9), date(2025, 4, 30), Invalid, "làm việc"),
    ],
)
def test_an_apology_is_refused(
    due_at: datetime | None,
    extended_at: datetime | None,
    now: datetime,
    new_due_date: date,
    refusal: type[Exception],
    message: str,
) -> None:
    with pytest.raises(refusal, match=message) as refused:
        new_appointment(
            ENGINE, due_at=due_at, extended_at=extended_at, now=now, new_due_date=new_due_date
        )
    if isinstance(refused.value, Invalid):
        assert [e["field"] for e in refused.value.errors or []] == ["new_due_date"]


def test_an_apology_to_a_half_day_off_in_the_afternoon_ends_at_noon() -> None:
    half = CalendarEntry(date(2025, 9, 10), EntryKind.HALF_DAY, "Nghỉ chiều", half="afternoon")
    shipped = shipped_years()
    year = YearCalendar(2025, (*shipped[2025].entries, half))
    engine = DeadlineEngine(Calendar({**shipped, 2025: year}))
    moved = new_appointment(
        engine, due_at=DUE, extended_at=None, now=vn(2025, 8, 4, 9), new_due_date=half.day
    )
    assert moved == vn(2025, 9, 10, 11, 30)


@pytest.mark.parametrize(
    ("deadline", "now", "refused"),
    [
        # Hard cases first: no deadline recorded (a request before the rule existed) can
        # never be stopped for lateness; the very moment of the deadline is still in time.
        (None, vn(2030, 1, 1, 9), True),
        (vn(2025, 3, 24, 17), vn(2025, 3, 24, 17), True),
        (vn(2025, 3, 24, 17), vn(2025, 3, 24, 16, 59), True),
        (vn(2025, 3, 24, 17), vn(2025, 3, 24, 17, 1), False),
        (vn(2025, 3, 24, 17), vn(2025, 4, 10, 9), False),
    ],
)
def test_a_dossier_is_stopped_only_once_the_supplement_deadline_has_passed(
    deadline: datetime | None, now: datetime, refused: bool
) -> None:
    if refused:
        with pytest.raises(Conflict, match="thời hạn bổ sung"):
            supplement_deadline_passed(deadline, now)
    else:
        supplement_deadline_passed(deadline, now)


def test_the_reason_to_stop_is_prefilled_with_the_deadline_in_vietnam_time() -> None:
    reason = stop_reason(datetime(2025, 3, 24, 10, 0, tzinfo=UTC))
    assert reason == (
        "Quá thời hạn bổ sung, hoàn thiện hồ sơ (17 giờ 00 phút, ngày 24/03/2025) mà "
        "công dân chưa bổ sung: dừng giải quyết hồ sơ."
    )
