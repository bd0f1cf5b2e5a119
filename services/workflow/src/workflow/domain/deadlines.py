"""The working-day deadline engine (DOMAIN.md, "Deadlines"): pure arithmetic on working
time, in Vietnam local time, from an agency's calendar and office hours.

Processing time is working time: one working day is 8 hours of office hours (default
07:00–11:30 and 13:30–17:00). Working periods are half-open, [start, end): a due date
that uses up a period exactly falls at its end (17:00), never at the next morning's
start, so it is never on a day off. All arithmetic is exact (timedelta), never floats.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from shared.calendar import Calendar
from shared.contracts.events import VIETNAM

WORKING_DAY = timedelta(hours=8)
ZERO = timedelta(0)
NOON = time(12, 0)
# No calendar has more than a few weeks off in a row; a search that finds no working
# time for this many days is a bug (an empty calendar), not a long holiday.
_MAX_DAYS = 366


@dataclass(frozen=True)
class OfficeHours:
    periods: tuple[tuple[time, time], ...] = (
        (time(7, 0), time(11, 30)),
        (time(13, 30), time(17, 0)),
    )
    # Receipts after this local time count from the next working day.
    cutoff: time = time(15, 0)

    def __post_init__(self) -> None:
        ends = [t for period in self.periods for t in period]
        if not self.periods or ends != sorted(ends) or len(set(ends)) != len(ends):
            raise ValueError("office hours must be ordered, non-empty, non-overlapping periods")

    def length(self) -> timedelta:
        """Working time in a full day."""
        return sum(
            (
                datetime.combine(date.min, b) - datetime.combine(date.min, a)
                for a, b in self.periods
            ),
            timedelta(),
        )


def _local(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("times must carry their time zone")
    return at.astimezone(VIETNAM)


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


@dataclass(frozen=True)
class DeadlineEngine:
    calendar: Calendar
    hours: OfficeHours = field(default_factory=OfficeHours)

    # --- the working periods --------------------------------------------------------

    def periods_of(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working periods, as local times (none on a day off)."""
        if not self.calendar.is_working_day(day):
            return []
        off = self.calendar.off_half(day)
        periods = []
        for start, end in self.hours.periods:
            if (off == "morning" and start < NOON) or (off == "afternoon" and start >= NOON):
                continue
            periods.append(
                (datetime.combine(day, start, VIETNAM), datetime.combine(day, end, VIETNAM))
            )
        return periods

    def _forward(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods that end after `since`, in order (clipped to start at it)."""
        day, idle = since.date(), 0
        while idle < _MAX_DAYS:
            periods = self.periods_of(day)
            idle = 0 if periods else idle + 1
            for start, end in periods:
                if end > since:
                    yield max(start, since), end
            day += timedelta(days=1)
        raise ValueError("no working time within a year: is the calendar empty?")

    def _backward(self, until: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods that start before `until`, latest first (clipped to end at it)."""
        day, idle = until.date(), 0
        while idle < _MAX_DAYS:
            periods = self.periods_of(day)
            idle = 0 if periods else idle + 1
            for start, end in reversed(periods):
                if start < until:
                    yield start, min(end, until)
            day -= timedelta(days=1)
        raise ValueError("no working time within a year: is the calendar empty?")

    def is_working_moment(self, at: datetime) -> bool:
        local = _local(at)
        return any(start <= local < end for start, end in self.periods_of(local.date()))

    # --- arithmetic ---------------------------------------------------------------------

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment when `amount` of working time has passed since `start`."""
        if amount < ZERO:
            raise ValueError("working time to add must not be negative")
        if amount == ZERO:
            return _utc(start)
        remaining = amount
        for begin, end in self._forward(_local(start)):
            if remaining <= end - begin:
                return _utc(begin + remaining)
            remaining -= end - begin
        raise AssertionError("unreachable")

    def subtract_working_time(self, end: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of working time before `end`."""
        if amount < ZERO:
            raise ValueError("working time to subtract must not be negative")
        if amount == ZERO:
            return _utc(end)
        remaining = amount
        for begin, finish in self._backward(_local(end)):
            if remaining <= finish - begin:
                return _utc(finish - remaining)
            remaining -= finish - begin
        raise AssertionError("unreachable")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end); nothing when end is not after start."""
        start, end = _local(start), _local(end)
        total = ZERO
        if end <= start:
            return total
        for begin, finish in self._forward(start):
            if begin >= end:
                break
            total += min(finish, end) - begin
        return total

    # --- the rules of DOMAIN.md ---------------------------------------------------------

    def counted_from(self, received_at: datetime, cutoff: time | None = None) -> datetime:
        """When the clock starts for a dossier received at `received_at`.

        Within office hours on a working day, up to the cut-off: at once. In the lunch
        break or before the desk opens: at the next period of the same day. After the
        cut-off, after hours or on a day off (a Saturday-morning desk): at the start of
        the next working day.
        """
        local = _local(received_at)
        limit = cutoff or self.hours.cutoff
        today = self.periods_of(local.date())
        if today and local.time() > limit:
            local = datetime.combine(local.date() + timedelta(days=1), time(0), VIETNAM)
        begin, _ = next(self._forward(local))
        return _utc(begin)

    def due_at(
        self, received_at: datetime, processing_days: int, cutoff: time | None = None
    ) -> datetime:
        """The appointment: `processing_days` working days from when the clock starts."""
        return self.add_working_time(
            self.counted_from(received_at, cutoff), processing_days * WORKING_DAY
        )

    def paused_working_time(
        self, paused_at: datetime, resumed_at: datetime, *, counted_from: datetime | None
    ) -> timedelta:
        """The working time a supplement pause took out of the processing time: only the
        part inside the counted period. Office time between a receipt after the cut-off
        and the clock's start was never counted, so pausing then stops nothing; before
        receipt (`counted_from` None) there is no clock at all."""
        if counted_from is None:
            return ZERO
        return self.working_time_between(max(paused_at, counted_from), resumed_at)

    def resume(
        self,
        due_at: datetime,
        paused_at: datetime,
        resumed_at: datetime,
        *,
        counted_from: datetime | None,
    ) -> datetime:
        """The due date after a supplement pause: moved by exactly the paused working time
        inside the counted period (`paused_working_time`).

        The pause is measured, not the time left, so a dossier already overdue when it
        paused stays exactly as late after it resumes.
        """
        paused = self.paused_working_time(paused_at, resumed_at, counted_from=counted_from)
        return self.add_working_time(due_at, paused)

    def working_time_left(self, due_at: datetime, now: datetime) -> timedelta:
        """Working time until the due date; negative (the lateness) once it has passed."""
        if now <= due_at:
            return self.working_time_between(now, due_at)
        return -self.working_time_between(due_at, now)

    def working_days_left(self, due_at: datetime, now: datetime) -> float:
        """For display: working days left, to one decimal (negative when overdue)."""
        return round(self.working_time_left(due_at, now) / WORKING_DAY, 1)

    def is_due_soon(self, due_at: datetime, now: datetime) -> bool:
        """One working day or less left, and not yet overdue."""
        return ZERO < self.working_time_left(due_at, now) <= WORKING_DAY

    def due_soon_at(self, due_at: datetime) -> datetime:
        """The moment exactly one working day is left."""
        return self.subtract_working_time(due_at, WORKING_DAY)

    def can_extend(self, due_at: datetime, now: datetime) -> bool:
        """The apology must come at least one working day before the due date."""
        return self.working_time_left(due_at, now) >= WORKING_DAY

    def supplement_due_at(self, requested_at: datetime, days: int) -> datetime:
        """The citizen's deadline to supplement, in working days from the request."""
        return self.add_working_time(self.counted_from(requested_at), days * WORKING_DAY)

    def supplement_reminder_at(
        self, requested_at: datetime, supplement_due_at: datetime
    ) -> datetime | None:
        """When the citizen is reminded: one working day before the supplement deadline;
        none when that is not after the request (its own message gave the deadline)."""
        at = self.due_soon_at(supplement_due_at)
        return at if at > requested_at else None


def end_of_day(engine: DeadlineEngine, day: date) -> datetime:
    """The last working moment of `day` (a half day off in the afternoon ends at noon)."""
    periods = engine.hours.periods
    end = periods[0][1] if engine.calendar.off_half(day) == "afternoon" else periods[-1][1]
    return _utc(datetime.combine(day, end, VIETNAM))


def working_hours_used(
    engine: DeadlineEngine, counted_from: datetime | None, now: datetime, paused_seconds: int
) -> float | None:
    """Working hours from the clock's start to `now`, the supplement pauses taken out;
    None while the clock has not started."""
    if counted_from is None:
        return None
    used = engine.working_time_between(counted_from, now).total_seconds() - paused_seconds
    return round(max(used, 0) / 3600, 2)


@dataclass(frozen=True)
class RuleSet:
    """The legal rules a dossier is handled under: those in force when it was received."""

    key: str
    title: str
    in_force_from: date
    # Working days the citizen has to supplement before the dossier may be stopped. The
    # decrees leave it to each procedure; this is the default where a procedure is silent.
    supplement_days: int = 10


RULE_SETS: tuple[RuleSet, ...] = (
    RuleSet("nd-61-2018", "Nghị định 61/2018/NĐ-CP về cơ chế một cửa, một cửa liên thông",
            date(2018, 8, 21)),
    RuleSet("nd-107-2021", "Nghị định 107/2021/NĐ-CP sửa đổi Nghị định 61/2018/NĐ-CP",
            date(2022, 1, 22)),
    RuleSet("nd-118-2025", "Nghị định 118/2025/NĐ-CP về thủ tục hành chính theo cơ chế một "
            "cửa, một cửa liên thông", date(2025, 7, 1)),
)  # fmt: skip


def supplement_days(procedure_days: int | None, rules: RuleSet) -> int:
    """The citizen's working days to supplement: the procedure's (ThoiHanBoSung in the
    catalogue), else the default of the rules the dossier is handled under."""
    if procedure_days is not None and procedure_days > 0:
        return procedure_days
    return rules.supplement_days


def rule_set_for(received_at: datetime) -> RuleSet:
    """The rule set in force on the (Vietnam-time) day of receipt."""
    day = _local(received_at).date()
    in_force = [r for r in RULE_SETS if r.in_force_from <= day]
    return in_force[-1] if in_force else RULE_SETS[0]
