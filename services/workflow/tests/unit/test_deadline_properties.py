"""Invariants of the deadline engine over any moment of 2024–2027 and any processing time."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contracts.events import VIETNAM
from workflow.domain.calendar import Calendar, shipped_years
from workflow.domain.deadlines import WORKING_DAY, DeadlineEngine

ENGINE = DeadlineEngine(Calendar(shipped_years()))
ZERO = timedelta(0)

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 10, 31), timezones=st.just(VIETNAM)
).map(lambda at: at.replace(second=0, microsecond=0))
days = st.integers(min_value=0, max_value=30)
# Working time in whole minutes, up to ten working days.
amounts = st.integers(min_value=0, max_value=10 * 8 * 60).map(lambda m: timedelta(minutes=m))
checked = settings(max_examples=300, deadline=None)


def _inside_or_at_end_of_a_period(at: datetime) -> bool:
    local = at.astimezone(VIETNAM)
    return any(start < local <= end for start, end in ENGINE.periods_of(local.date()))


@checked
@given(moments, st.integers(min_value=1, max_value=30))
def test_a_due_date_is_never_on_a_day_off_nor_outside_office_hours(
    received: datetime, n: int
) -> None:
    due = ENGINE.due_at(received, n)
    assert ENGINE.calendar.is_working_day(due.astimezone(VIETNAM).date())
    assert _inside_or_at_end_of_a_period(due)


@checked
@given(moments, moments)
def test_pausing_then_resuming_at_once_changes_nothing(due: datetime, paused: datetime) -> None:
    assert ENGINE.resume(due, paused, paused) == due


@checked
@given(moments, days, days)
def test_adding_n_then_m_working_days_is_adding_n_plus_m(start: datetime, n: int, m: int) -> None:
    stepwise = ENGINE.add_working_time(
        ENGINE.add_working_time(start, n * WORKING_DAY), m * WORKING_DAY
    )
    assert stepwise == ENGINE.add_working_time(start, (n + m) * WORKING_DAY)


@checked
@given(moments, amounts)
def test_working_time_between_undoes_adding_it(start: datetime, amount: timedelta) -> None:
    begin = ENGINE.counted_from(start)
    assert ENGINE.working_time_between(begin, ENGINE.add_working_time(begin, amount)) == amount


@checked
@given(moments, moments, st.integers(min_value=1, max_value=15))
def test_a_later_receipt_never_gets_an_earlier_due_date(a: datetime, b: datetime, n: int) -> None:
    first, second = sorted((a, b))
    assert ENGINE.due_at(first, n) <= ENGINE.due_at(second, n)


@checked
@given(moments)
def test_the_clock_start_is_a_working_moment_and_stable(received: datetime) -> None:
    start = ENGINE.counted_from(received)
    assert start >= received
    assert ENGINE.is_working_moment(start)
    assert ENGINE.counted_from(start) == start


@checked
@given(moments, amounts, moments, amounts)
def test_a_pause_moves_the_due_date_by_exactly_its_working_time(
    received: datetime, processing: timedelta, paused: datetime, length: timedelta
) -> None:
    due = ENGINE.add_working_time(ENGINE.counted_from(received), processing)
    resumed = ENGINE.add_working_time(paused, length)
    moved = ENGINE.resume(due, paused, resumed)
    assert ENGINE.working_time_between(due, moved) == ENGINE.working_time_between(paused, resumed)


@checked
@given(moments, moments)
def test_time_left_is_the_working_time_between_with_its_sign(due: datetime, now: datetime) -> None:
    left = ENGINE.working_time_left(due, now)
    assert (left >= ZERO) == (now <= due) or left == ZERO
    assert abs(left) == ENGINE.working_time_between(min(due, now), max(due, now))
