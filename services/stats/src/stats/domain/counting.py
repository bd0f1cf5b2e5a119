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
  overdue ones among them;
- awaiting the fee at t, the same with the spans from the start of the wait to payment
  (or the end) outside the pauses: a dossier waits for one thing at a time, the
  supplement first. A fee paid at the desk with the result (`on_result`) is waited for
  from the approval (workflow's `dossier.awaiting_fee`); a fee to be paid online before
  submission, from receipt if it was not paid by then;
- in progress in time after a second supplement request (Decision 766 counts such a
  dossier as late whatever its dates), the same with the spans after that request
  outside both waits.

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
    stopped_at: datetime | None = None
    paid_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()
    processing_hours: float | None = None
    e_result: bool = False
    digitised: bool = False
    fee_vnd: int = 0
    fee_timing: str = "on_result"
    # When workflow put the approved dossier to wait for its fee (dossier.awaiting_fee).
    fee_wait_from: datetime | None = None
    paid_online: bool = False
    # The national portal's records of the dossier: the last one written, and the last
    # one it accepted (records are accepted in order).
    national_queued: int = 0
    national_synced: int = 0


def synced(facts: Facts) -> bool:
    """Decision 766: the national portal has the dossier's current status."""
    return facts.national_queued > 0 and facts.national_synced >= facts.national_queued


Counter = tuple[str, date, float]


def day(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def ending(facts: Facts) -> tuple[datetime, str] | None:
    """When and how the dossier left the desk's hands: resolved, rejected, withdrawn or
    stopped (the citizen's supplement deadline passed)."""
    ends = [
        (at, kind)
        for at, kind in (
            (facts.resolved_at, "resolved"),
            (facts.rejected_at, "rejected"),
            (facts.withdrawn_at, "withdrawn"),
            (facts.stopped_at, "stopped"),
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
    # Due before receipt (clocks that disagree) would be overdue before it was received.
    due = day(max(facts.due_at, facts.received_at)) if facts.due_at else None
    counters: list[Counter] = [
        ("received_online" if facts.online else "received_direct", received, 1),
    ]
    if facts.fee_vnd > 0:
        counters.append(("fee_due", received, 1))
        if facts.paid_online:
            counters.append(("paid_online", received, 1))
    if synced(facts):
        counters.append(("national_synced", received, 1))
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
    until = end[0] if end else None
    pauses = _pauses(facts, until)
    fee_waits = _fee_waits(facts, until, pauses) if facts.fee_vnd > 0 else []
    for start, stop in pauses:
        counters += _span("pause", start, stop, due)
    for start, stop in fee_waits:
        counters += _span("fee_wait", start, stop, due)
    # Decision 766: a second supplement request makes the dossier late whatever its dates.
    requests = sorted(p.requested_at for p in facts.pauses)
    if len(requests) > 1 and (until is None or requests[1] < until):
        if end is not None and end[1] == "resolved" and facts.judgement != ev.Judgement.LATE:
            counters.append(("resolved_timely_resupplemented", day(end[0]), 1))
        after = max(requests[1], facts.received_at)
        for start, stop in _outside([(after, until)], [*pauses, *fee_waits]):
            counters += _span("resupplemented", start, stop, due)
    return counters


Span = tuple[datetime, datetime | None]  # [start, stop), None: still going on


def _span(prefix: str, start: datetime, stop: datetime | None, due: date | None) -> list[Counter]:
    """A span the dossier spends in one state: counted as in it at t when it started before
    t and had not stopped, and as overdue in it when, besides, it was due before t."""
    first = day(start)
    last = day(stop) if stop is not None else None
    counters: list[Counter] = [(f"{prefix}_start", first, 1)]
    if last is not None:
        counters.append((f"{prefix}_end", last, 1))
    if due is not None:
        counters.append((f"{prefix}_due_start", max(first, due), 1))
        if last is not None:
            counters.append((f"{prefix}_due_end", max(last, due), 1))
    return counters


def _pauses(facts: Facts, end: datetime | None) -> list[Span]:
    """The supplement waits that count: after receipt (before it the clock had not
    started), each until the citizen supplements, the next request (which supposes the
    last one answered, whether or not that event has arrived yet) or the dossier ends."""
    assert facts.received_at is not None
    requests = sorted(p.requested_at for p in facts.pauses)
    waits: list[Span] = []
    for pause in facts.pauses:
        if pause.requested_at < facts.received_at:
            continue
        if end is not None and pause.requested_at >= end:
            continue
        later = [at for at in requests if at > pause.requested_at][:1]
        stops = [at for at in (pause.resumed_at, end, *later) if at is not None]
        waits.append((pause.requested_at, min(stops) if stops else None))
    return _union(waits)


def _union(spans: list[Span]) -> list[Span]:
    """Overlapping spans (two requests at the same instant) as one: waiting is a state."""
    merged: list[Span] = []
    for start, stop in sorted(spans, key=lambda span: span[0]):
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            last_start, last_stop = merged[-1]
            longer = None if stop is None or last_stop is None else max(stop, last_stop)
            merged[-1] = (last_start, longer)
        else:
            merged.append((start, stop))
    return merged


def _fee_waits(facts: Facts, end: datetime | None, pauses: list[Span]) -> list[Span]:
    """A fee not yet paid, from the start of the wait until paid or the end, outside the
    supplement waits (the citizen is asked for one thing at a time: the supplement counts
    first). The wait starts when workflow says so (the approval of a dossier whose fee is
    paid at the desk) or, for a fee to be paid online before submission, at receipt."""
    assert facts.received_at is not None
    start = facts.fee_wait_from
    if start is None and facts.fee_timing == "before_submission":
        start = facts.received_at
    if start is None:
        return []
    start = max(start, facts.received_at)
    if facts.paid_at is not None and facts.paid_at <= start:
        return []
    stops = [at for at in (facts.paid_at, end) if at is not None]
    return _outside([(start, min(stops) if stops else None)], pauses)


def _outside(spans: list[Span], holes: list[Span]) -> list[Span]:
    """The parts of `spans` outside every one of `holes` (spans with no stop run on)."""
    for hole_start, hole_stop in holes:
        cut: list[Span] = []
        for start, stop in spans:
            before_hole = stop is not None and stop <= hole_start
            if before_hole or (hole_stop is not None and hole_stop <= start):
                cut.append((start, stop))
                continue
            if start < hole_start:
                cut.append((start, hole_start))
            if hole_stop is not None and (stop is None or hole_stop < stop):
                cut.append((hole_stop, stop))
        spans = cut
    return [(start, stop) for start, stop in spans if stop is None or start < stop]


def delta(old: Iterable[Counter], new: Iterable[Counter]) -> dict[tuple[str, date], float]:
    """What to add to the counters to go from `old` to `new` (zeros left out)."""
    change: dict[tuple[str, date], float] = {}
    for metric, on, value in old:
        change[(metric, on)] = change.get((metric, on), 0) - value
    for metric, on, value in new:
        change[(metric, on)] = change.get((metric, on), 0) + value
    return {key: value for key, value in change.items() if value}


def feedback_counters(data: ev.FeedbackSubmitted) -> dict[tuple[str, date], float]:
    """A citizen's rating counts as rated, and as poor when 1 or 2 stars or a complaint
    (Decision 766 takes the poor ones over the dossiers handled, not over the rated)."""
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
