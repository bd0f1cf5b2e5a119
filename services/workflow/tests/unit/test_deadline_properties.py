"""Invariants of the deadline engine over any moment of 2024–2027 and any processing time."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.calendar import Calendar
from shared.contracts.events import VIETNAM
from workflow.domain.calendar import shipped_years
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
@given(moments, moments, moments)
def test_pausing_then_resuming_at_once_changes_nothing(
    due: datetime, paused: datetime, counted_from: datetime
) -> None:
    assert ENGINE.resume(due, paused, paused, counted_from=counted_from) == due


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
    counted_from = ENGINE.counted_from(received)
    due = ENGINE.add_working_time(counted_from, processing)
    paused = max(paused, counted_from)  # inside the counted period
    resumed = ENGINE.add_working_time(paused, length)
    moved = ENGINE.resume(due, paused, resumed, counted_from=counted_from)
    assert ENGINE.working_time_between(due, moved) == ENGINE.working_time_between(paused, resumed)


@checked
@given(moments, moments)
def test_time_left_is_the_working_time_between_with_its_sign(due: datetime, now: datetime) -> None:
    left = ENGINE.working_time_left(due, now)
    assert (left >= ZERO) == (now <= due) or left == ZERO
    assert abs(left) == ENGINE.working_time_between(min(due, now), max(due, now))


# A pause as offsets in minutes: from the previous event (the receipt, or the end of the
# previous round) to its start, and its length; up to three days each, so pauses fall
# before the clock starts (a receipt after the cut-off, before a weekend or a holiday) as
# often as inside the counted period.
offsets = st.integers(min_value=0, max_value=3 * 24 * 60).map(lambda m: timedelta(minutes=m))
rounds = st.lists(st.tuples(offsets, offsets), min_size=1, max_size=4)


@checked
@given(moments, offsets, offsets)
def test_a_pause_that_ends_before_the_clock_starts_moves_nothing(
    received: datetime, gap: timedelta, length: timedelta
) -> None:
    counted_from = ENGINE.counted_from(received)
    due = ENGINE.due_at(received, 5)
    paused = min(received + gap, counted_from)
    resumed = min(paused + length, counted_from)
    assert ENGINE.resume(due, paused, resumed, counted_from=counted_from) == due


@checked
@given(moments, offsets, offsets, st.integers(min_value=1, max_value=15))
def test_a_pause_from_before_the_clock_counts_as_if_it_began_when_the_clock_did(
    received: datetime, gap: timedelta, length: timedelta, n: int
) -> None:
    counted_from = ENGINE.counted_from(received)
    due = ENGINE.due_at(received, n)
    paused = min(received + gap, counted_from)
    resumed = counted_from + length
    assert ENGINE.resume(due, paused, resumed, counted_from=counted_from) == ENGINE.resume(
        due, counted_from, resumed, counted_from=counted_from
    )


@checked
@given(moments, st.integers(min_value=1, max_value=15), rounds)
def test_after_any_rounds_the_clock_ran_for_exactly_the_processing_time(
    received: datetime, n: int, pauses: list[tuple[timedelta, timedelta]]
) -> None:
    """Round by round, the due date moves so that the working time from the clock's start
    to the final due date, less the paused working time inside it, is the processing time."""
    counted_from = ENGINE.counted_from(received)
    due = ENGINE.due_at(received, n)
    at, intervals = received, []
    for gap, length in pauses:
        paused, resumed = at + gap, at + gap + length
        due = ENGINE.resume(due, paused, resumed, counted_from=counted_from)
        intervals.append((paused, resumed))
        at = resumed
    assert due >= ENGINE.due_at(received, n)
    if at <= due:  # every pause ended before the final due date
        stood_still = sum(
            (ENGINE.working_time_between(max(p, counted_from), r) for p, r in intervals), ZERO
        )
        assert ENGINE.working_time_between(counted_from, due) - stood_still == n * WORKING_DAY
