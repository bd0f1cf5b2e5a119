"""How a dossier counts in the processing report, as dated counters; and a period cut
into years, months and days.

Every column of the report (DOMAIN.md) is a difference of counts "up to a day" or a sum
"between two days" of a few per-day counters:

- open at instant t = received before t − ended before t;
- open and overdue at t = due before t − (due and ended) before t, because a dossier is
  received before it is due, and "due and ended before t" is "max(due day, end day)
  before t": a two-sided condition made one counter;
- awaiting a supplement at t = pauses started before t − pauses ended before t (a pause
  ends when the citizen supplements or the dossier ends), and the same trick for the
  overdue ones among them.

So a dossier's whole contribution is a short list of (counter, day, value), a pure
function of what is known about it. When an event changes that knowledge, the old list
is taken out of the counters and the new one put in: the counters are the same whatever
order the events came in, and a report never reads a single dossier.

Days are Vietnam-time dates. A dossier never received (refused at the desk, withdrawn
before receipt) is in no column: it was never "to be resolved".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from shared.contracts import events as ev
from shared.contracts.events import VIETNAM


@dataclass(frozen=True)
class Pause:
    requested_at: datetime
    resumed_at: datetime | None = None


@dataclass(frozen=True)
class Facts:
    """What stats knows of one dossier (times aware)."""

    received_at: datetime | None = None
    online: bool = True
    due_at: datetime | None = None
    resolved_at: datetime | None = None
    judgement: str | None = None
    rejected_at: datetime | None = None
    withdrawn_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()
    processing_hours: float | None = None
    e_result: bool = False
    digitised: bool = False
    fee_vnd: int = 0
    paid_online: bool = False


Counter = tuple[str, date, float]


def day(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def ending(facts: Facts) -> tuple[datetime, str] | None:
    """When and how the dossier left the desk's hands: resolved, rejected or withdrawn."""
    ends = [
        (at, kind)
        for at, kind in (
            (facts.resolved_at, "resolved"),
            (facts.rejected_at, "rejected"),
            (facts.withdrawn_at, "withdrawn"),
        )
        if at is not None
    ]
    if not ends or facts.received_at is None:
        return None
    at, kind = min(ends)
    # Clocks of different services may disagree by a moment; an end never precedes receipt.
    return max(at, facts.received_at), kind


def contribution(facts: Facts) -> list[Counter]:
    """The counters this dossier adds to, and on which day."""
    if facts.received_at is None:
        return []
    received = day(facts.received_at)
    due = day(facts.due_at) if facts.due_at else None
    counters: list[Counter] = [
        ("received_online" if facts.online else "received_direct", received, 1),
    ]
    if facts.fee_vnd > 0:
        counters.append(("fee_due", received, 1))
        if facts.paid_online:
            counters.append(("paid_online", received, 1))
    if due is not None:
        counters.append(("due", due, 1))
    end = ending(facts)
    ended = day(end[0]) if end else None
    if end is not None and ended is not None:
        kind = end[1]
        counters.append(("ended", ended, 1))
        if kind == "resolved":
            counters.append((f"resolved_{facts.judgement or ev.Judgement.ON_TIME}", ended, 1))
            if facts.e_result:
                counters.append(("e_result", ended, 1))
                if facts.digitised:
                    counters.append(("digitised", ended, 1))
            if facts.processing_hours is not None:
                counters.append(("processing_hours", ended, facts.processing_hours))
        else:
            counters.append((kind, ended, 1))
        if due is not None:
            counters.append(("due_or_ended", max(due, ended), 1))
    for pause in facts.pauses:
        if pause.requested_at < facts.received_at:
            continue  # a request before receipt: the clock had not started
        if end is not None and pause.requested_at >= end[0]:
            continue
        start = day(pause.requested_at)
        stops = [at for at in (pause.resumed_at, end[0] if end else None) if at is not None]
        stop = day(min(stops)) if stops else None
        counters.append(("pause_start", start, 1))
        if stop is not None:
            counters.append(("pause_end", stop, 1))
        if due is not None:
            counters.append(("pause_due_start", max(start, due), 1))
            if stop is not None:
                counters.append(("pause_due_end", max(stop, due), 1))
    return counters


def delta(old: Iterable[Counter], new: Iterable[Counter]) -> dict[tuple[str, date], float]:
    """What to add to the counters to go from `old` to `new` (zeros left out)."""
    change: dict[tuple[str, date], float] = {}
    for metric, on, value in old:
        change[(metric, on)] = change.get((metric, on), 0) - value
    for metric, on, value in new:
        change[(metric, on)] = change.get((metric, on), 0) + value
    return {key: value for key, value in change.items() if value}


def feedback_counters(data: ev.FeedbackSubmitted) -> dict[tuple[str, date], float]:
    """A citizen's rating counts as rated, and as poor when 1 or 2 stars or a complaint."""
    on = day(data.submitted_at)
    changes = {("rated", on): 1.0}
    if data.rating <= 2 or data.complaint:
        changes[("rated_poor", on)] = 1.0
    return changes


# --- periods --------------------------------------------------------------------------

Unit = str  # "y", "m" or "d": counters are kept per day, and rolled up per month and year


@dataclass(frozen=True)
class Piece:
    unit: Unit
    start: date | None  # None: since the beginning
    end: date


def unit_start(unit: Unit, on: date) -> date:
    if unit == "y":
        return date(on.year, 1, 1)
    if unit == "m":
        return date(on.year, on.month, 1)
    return on


def _next(unit: Unit, on: date) -> date:
    if unit == "y":
        return date(on.year + 1, 1, 1)
    if unit == "m":
        return date(on.year + (on.month == 12), on.month % 12 + 1, 1)
    return on + timedelta(days=1)


@dataclass
class _Builder:
    pieces: list[Piece] = field(default_factory=list)

    def add(self, unit: Unit, start: date, end: date) -> None:
        last = self.pieces[-1] if self.pieces else None
        if last is not None and last.unit == unit and last.end == start:
            self.pieces[-1] = Piece(unit, last.start, end)
        else:
            self.pieces.append(Piece(unit, start, end))


def pieces(start: date | None, end: date) -> list[Piece]:
    """[start, end) as the fewest whole years, months and days (start None: all before)."""
    built = _Builder()
    cursor = start
    if cursor is None:
        cursor = unit_start("y", end)
        built.pieces.append(Piece("y", None, cursor))
    while cursor < end:
        for unit in ("y", "m", "d"):
            if unit_start(unit, cursor) == cursor and _next(unit, cursor) <= end:
                built.add(unit, cursor, _next(unit, cursor))
                cursor = _next(unit, cursor)
                break
    return built.pieces
