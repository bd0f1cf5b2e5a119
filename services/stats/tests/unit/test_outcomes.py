"""Where each dossier stands at the start and at the end of a period (seed 001's columns),
and the indicators of Decision 766: table tests of the hard cases, then a property over
any event history checked against the plain rules, instant by instant."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.contracts.events import VIETNAM
from stats.domain.counting import Facts, Pause, contribution
from stats.domain.facts import facts_of, merge
from stats.domain.report import OUTCOMES, columns, indicators


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=VIETNAM)


def sums(dossiers: Iterable[Facts], start: date, end: date) -> tuple[dict[str, float], ...]:
    """The dossiers' counters summed before the period and during it, as the service does."""
    before: dict[str, float] = {}
    during: dict[str, float] = {}
    for facts in dossiers:
        for metric, on, value in contribution(facts):
            if on < start:
                before[metric] = before.get(metric, 0) + value
            elif on <= end:
                during[metric] = during.get(metric, 0) + value
    return before, during


def report(dossiers: Iterable[Facts], start: date, end: date) -> dict[str, Any]:
    return columns(*sums(dossiers, start, end))


MARCH = (date(2025, 3, 1), date(2025, 3, 31))
# A fee to be paid online before submission (the default: at the desk with the result).
ONLINE = "before_submission"
OPEN = Facts(received_at=at(2, 20), due_at=at(3, 20))


@pytest.mark.parametrize(
    ("facts", "column"),
    [
        (OPEN, "carried_over_in_time"),
        (Facts(received_at=at(2, 3), due_at=at(2, 20)), "carried_over_overdue"),
        # Waiting for the citizen at midnight: neither in time nor overdue.
        (Facts(received_at=at(2, 3), due_at=at(3, 20), pauses=(Pause(at(2, 10)),)),
         "carried_over_awaiting_supplement"),
        (Facts(received_at=at(2, 3), due_at=at(2, 20), pauses=(Pause(at(2, 25), at(3, 2)),)),
         "carried_over_awaiting_supplement"),
        # Supplemented the same day the period starts: still waiting at its first instant.
        (Facts(received_at=at(2, 3), due_at=at(3, 20), pauses=(Pause(at(2, 10), at(3, 1)),)),
         "carried_over_awaiting_supplement"),
        (Facts(received_at=at(2, 3), due_at=at(3, 20), pauses=(Pause(at(2, 10), at(2, 28)),)),
         "carried_over_in_time"),
        # A fee not paid: the carry-over is still split by the due date.
        (Facts(received_at=at(2, 3), due_at=at(2, 20), fee_vnd=30000, fee_timing=ONLINE),
         "carried_over_overdue"),
    ],
)  # fmt: skip
def test_what_is_carried_over_is_split_three_ways(facts: Facts, column: str) -> None:
    row = report([facts], *MARCH)
    carried = ("carried_over_in_time", "carried_over_overdue", "carried_over_awaiting_supplement")
    assert {c: row[c] for c in carried} == {c: int(c == column) for c in carried}
    assert row["total"] == 1


@pytest.mark.parametrize(
    ("facts", "column"),
    [
        (OPEN, "in_progress_overdue"),
        (Facts(received_at=at(3, 3), due_at=at(4, 20)), "in_progress_in_time"),
        # An online fee not paid by receipt.
        (Facts(received_at=at(3, 3), due_at=at(4, 20), fee_vnd=30000, fee_timing=ONLINE),
         "awaiting_fee"),
        (Facts(received_at=at(3, 3), due_at=at(3, 20), fee_vnd=30000, fee_timing=ONLINE),
         "awaiting_fee"),
        (Facts(received_at=at(3, 3), due_at=at(4, 20), fee_vnd=30000, fee_timing=ONLINE,
               paid_at=at(3, 20)), "in_progress_in_time"),
        # Paid with the online submission, before the desk received it.
        (Facts(received_at=at(3, 3), due_at=at(4, 20), fee_vnd=30000, fee_timing=ONLINE,
               paid_at=at(3, 2)), "in_progress_in_time"),
        # A fee paid at the desk with the result: in progress until approved, then waiting.
        (Facts(received_at=at(3, 3), due_at=at(4, 20), fee_vnd=30000), "in_progress_in_time"),
        (Facts(received_at=at(3, 3), due_at=at(3, 20), fee_vnd=30000), "in_progress_overdue"),
        (Facts(received_at=at(3, 3), due_at=at(4, 20), fee_vnd=30000, fee_wait_from=at(3, 25)),
         "awaiting_fee"),
        (Facts(received_at=at(3, 3), due_at=at(3, 20), fee_vnd=30000, fee_wait_from=at(3, 25)),
         "awaiting_fee"),
        # Paid at the desk, the result ready the same instant.
        (Facts(received_at=at(3, 3), due_at=at(4, 20), fee_vnd=30000, fee_wait_from=at(3, 25),
               paid_at=at(3, 27), resolved_at=at(3, 27)), "resolved"),
        # Asked for a supplement and not paid: the supplement first, counted once.
        (Facts(received_at=at(3, 3), due_at=at(3, 20), fee_vnd=30000, fee_timing=ONLINE,
               pauses=(Pause(at(3, 10)),)), "awaiting_supplement"),
        (Facts(received_at=at(3, 3), due_at=at(4, 20), fee_vnd=30000, fee_timing=ONLINE,
               pauses=(Pause(at(3, 10), at(3, 12)),)), "awaiting_fee"),
        (Facts(received_at=at(3, 3), due_at=at(4, 20), pauses=(Pause(at(3, 10)),),
               stopped_at=at(3, 25)), "stopped"),
        (Facts(received_at=at(3, 3), due_at=at(4, 20), rejected_at=at(3, 5)),
         "returned_rejected"),
        (Facts(received_at=at(3, 3), due_at=at(4, 20), withdrawn_at=at(3, 5)), "withdrawn"),
        (Facts(received_at=at(3, 3), due_at=at(3, 20), resolved_at=at(3, 25),
               judgement="late"), "resolved"),
        # Stopped after the period: still waiting at its end.
        (Facts(received_at=at(3, 3), due_at=at(4, 20), pauses=(Pause(at(3, 10)),),
               stopped_at=at(4, 2)), "awaiting_supplement"),
    ],
)  # fmt: skip
def test_each_dossier_ends_the_period_in_exactly_one_column(facts: Facts, column: str) -> None:
    row = report([facts], *MARCH)
    assert {c: row[c] for c in OUTCOMES} == {c: int(c == column) for c in OUTCOMES}
    assert row["total"] == 1


def counted(
    *, received: int = 3, due: tuple[int, int] = (4, 20), requests: int = 0, **ends: Any
) -> Facts:
    """A dossier received in March with `requests` supplement requests, each answered."""
    pauses = tuple(Pause(at(3, received + 2 * i + 1), at(3, received + 2 * i + 2))
                   for i in range(requests))  # fmt: skip
    return Facts(received_at=at(3, received), due_at=at(*due), pauses=pauses, **ends)


@pytest.mark.parametrize(
    ("facts", "on_time", "late_for_supplements"),
    [
        (counted(resolved_at=at(3, 20), judgement="on_time"), 1, 0),
        (counted(requests=1, resolved_at=at(3, 20), judgement="early"), 1, 0),
        # More than one request: late, however early the result.
        (counted(requests=2, resolved_at=at(3, 20), judgement="early"), 0, 1),
        (counted(requests=3, resolved_at=at(3, 20), judgement="on_time"), 0, 1),
        # Late anyway: not counted twice.
        (counted(requests=2, resolved_at=at(3, 20), judgement="late"), 0, 0),
        # Still in progress in time at the end of the period, asked twice: late.
        (counted(requests=2), 0, 1),
        (counted(requests=1), 1, 0),
        # In progress but overdue, or waiting again: not in the numerator anyway.
        (counted(requests=2, due=(3, 25)), 0, 0),
        (Facts(received_at=at(3, 3), due_at=at(4, 20),
               pauses=(Pause(at(3, 4), at(3, 5)), Pause(at(3, 10)))), 0, 0),
        # Asked twice only after the period: in time within it.
        (Facts(received_at=at(3, 3), due_at=at(4, 20),
               pauses=(Pause(at(3, 4), at(3, 5)), Pause(at(4, 10), at(4, 11)))), 1, 0),
    ],
)  # fmt: skip
def test_more_than_one_supplement_request_counts_as_late(
    facts: Facts, on_time: int, late_for_supplements: int
) -> None:
    found = indicators(*sums([facts], *MARCH))["on_time_rate"]
    assert found["numerator"] == on_time
    assert found["denominator"] == 1
    assert found["late_for_supplements"] == late_for_supplements


def test_a_dossier_asked_twice_counts_as_late_once_among_others() -> None:
    dossiers = [counted(requests=2, resolved_at=at(3, 20), judgement="on_time"),
                *(counted(resolved_at=at(3, 20), judgement="on_time") for _ in range(3))]  # fmt: skip
    assert indicators(*sums(dossiers, *MARCH))["on_time_rate"]["value"] == 75.0
    # The report's own rate judges by the dates: all four were resolved on time.
    assert report(dossiers, *MARCH)["on_time_rate"] == 100.0


HANDLED_10 = {"received_online": 10, "ended": 10, "resolved_on_time": 9, "resolved_late": 1}


@pytest.mark.parametrize(
    ("during", "value"),
    [
        # 100 − (1 overdue of 10 handled + 2 poor of 10 handled); not 2 poor of 4 rated.
        ({**HANDLED_10, "rated": 4, "rated_poor": 2}, 70.0),
        ({**HANDLED_10, "rated": 1, "rated_poor": 1}, 80.0),
        ({**HANDLED_10}, 90.0),
        ({"received_online": 3, "ended": 3, "resolved_on_time": 3, "rated": 3}, 100.0),
        ({"received_online": 3, "rated": 3, "rated_poor": 1}, 66.7),
        # Ratings alone, nothing handled: no share to take.
        ({"rated": 2, "rated_poor": 2}, None),
        ({}, None),
        # More poor ratings than dossiers handled (rated after a late result): never below 0.
        ({"received_online": 1, "ended": 1, "resolved_late": 1, "rated": 3, "rated_poor": 3},
         0.0),
    ],
)  # fmt: skip
def test_satisfaction_takes_both_shares_over_the_dossiers_handled(
    during: dict[str, float], value: float | None
) -> None:
    assert indicators({}, during)["satisfaction"]["value"] == value


# --- any event history ---------------------------------------------------------------------

ORIGIN = datetime(2025, 1, 1, tzinfo=VIETNAM)
DOSSIER = {
    "procedure_code": "1.004194", "procedure_name": "Đăng ký tạm trú", "field": "residence",
    "agency_code": "G01.306.000.000", "agency_name": "Công an tỉnh Bắc Kạn",
}  # fmt: skip
ACTOR = ev.Actor(kind="officer")
# Offsets in hours from ORIGIN: about four months, many on midnights and the same day.
moment = st.one_of(st.integers(0, 2900), st.integers(0, 120).map(lambda d: d * 24 - 7))
moments = st.builds(lambda h: ORIGIN + timedelta(hours=h), moment)


@st.composite
def histories(draw: st.DrawFn) -> list[EventData]:
    """One dossier's events in any order: received or not, paused any number of times,
    with or without a fee and its payment, ended any way or still open."""
    received = draw(moments)
    due = received + timedelta(hours=draw(st.integers(-30, 900)))
    common = {**DOSSIER, "actor": ACTOR, "received_at": received, "original_due_at": due}
    events: list[EventData] = [
        ev.DossierReceived(**common, status=ev.DossierStatus.RECEIVED,
                           channel=draw(st.sampled_from(["online", "direct"])),
                           counted_from=received, rule_set="nd-118-2025"),
    ]  # fmt: skip
    if draw(st.booleans()):
        fee = draw(st.sampled_from([0, 30000]))
        timing = draw(st.sampled_from(["before_submission", "on_result"]))
        events.append(ev.DossierSubmitted(
            **DOSSIER, status=ev.DossierStatus.SUBMITTED, dossier_id=uuid.uuid4(),
            online_level="full", submitted_at=received - timedelta(hours=1),
            applicant=ev.Applicant(kind="citizen", full_name="Nguyễn Văn An"), form={},
            attachments=[], result_delivery=ev.ResultDelivery(method="in_person"),
            recipient=ev.Recipient(full_name="Nguyễn Văn An"), update_code="X", fee_vnd=fee,
            fee_timing=timing,
        ))  # fmt: skip
        if fee and timing == "on_result" and draw(st.booleans()):
            events.append(ev.DossierAwaitingFee(
                **common, status=ev.DossierStatus.AWAITING_FEE, amount_vnd=fee,
                awaiting_since=draw(moments),
            ))  # fmt: skip
        if draw(st.booleans()):
            events.append(ev.PaymentCompleted(**DOSSIER, status=ev.DossierStatus.RECEIVED,
                                              amount_vnd=fee, method="online", reference="R",
                                              paid_at=draw(moments)))  # fmt: skip
    for round_ in range(1, draw(st.integers(0, 3)) + 1):
        requested = draw(moments)
        events.append(ev.DossierSupplementRequested(
            **common, status=ev.DossierStatus.SUPPLEMENT_REQUESTED, round=round_,
            requested_at=requested, items=[ev.SupplementItem(description="Thiếu giấy tờ")],
        ))  # fmt: skip
        if draw(st.booleans()):
            resumed = requested + timedelta(hours=draw(st.integers(0, 400)))
            events.append(ev.DossierResumed(**common, status=ev.DossierStatus.IN_PROGRESS,
                                            round=round_, resumed_at=resumed,
                                            paused_working_hours=1))  # fmt: skip
    ending = draw(st.sampled_from(["open", "resolved", "rejected", "withdrawn", "stopped"]))
    ended = draw(moments)
    if ending == "resolved":
        events.append(ev.DossierResultReady(
            **common, status=ev.DossierStatus.RESULT_READY, resolved_at=ended,
            judgement=draw(st.sampled_from(list(ev.Judgement))), result_summary="Xong",
            processing_working_hours=8.0,
        ))  # fmt: skip
    elif ending == "rejected":
        events.append(ev.DossierRejected(**common, status=ev.DossierStatus.REJECTED,
                                         reason="Không đủ", rejected_at=ended,
                                         stage="processing"))  # fmt: skip
    elif ending == "withdrawn":
        events.append(ev.DossierWithdrawn(**DOSSIER, status=ev.DossierStatus.WITHDRAWN,
                                          dossier_id=uuid.uuid4(), reason="Không cần",
                                          withdrawn_at=ended))  # fmt: skip
    elif ending == "stopped":
        events.append(ev.DossierStopped(**common, status=ev.DossierStatus.STOPPED,
                                        reason="Quá hạn bổ sung", stopped_at=ended))  # fmt: skip
    return draw(st.permutations(events))


def blank() -> dict[str, Any]:
    """A facts row as the table's defaults make it."""
    return {
        "received_at": None, "online": True, "due_at": None, "due_sequence": 0,
        "resolved_at": None, "judgement": None, "processing_hours": None, "e_result": False,
        "digitised": False, "rejected_at": None, "withdrawn_at": None, "returned_at": None,
        "stopped_at": None, "paid_at": None, "fee_vnd": 0, "paid_online": False,
        "fee_timing": "on_result", "fee_wait_from": None, "national_queued": 0,
        "national_synced": 0,
    }  # fmt: skip


def merged(events: list[EventData]) -> Facts:
    """The events through the service's own merge, in the order given."""
    row: dict[str, Any] = blank()
    rounds: dict[int, dict[str, Any]] = {}
    for sequence, data in enumerate(events, start=1):
        change = merge(row, data, sequence)
        if change is not None:
            pause = rounds.setdefault(change.round, {"requested_at": None, "resumed_at": None})
            for name, value in change.values.items():
                pause[name] = pause[name] or value
    return facts_of(row, rounds.values())


def plain_row(dossiers: list[Facts], start: date, end: date) -> dict[str, int]:
    """The columns by the plain rules: each dossier looked at at the period's first and
    last instants (Vietnam midnights)."""
    s = datetime.combine(start, time(0), VIETNAM)
    e = datetime.combine(end + timedelta(days=1), time(0), VIETNAM)
    row = dict.fromkeys([*OUTCOMES, "carried_over_in_time", "carried_over_overdue",
                         "carried_over_awaiting_supplement", "received", "late_for_766"], 0)  # fmt: skip
    for f in dossiers:
        received, due = f.received_at, f.due_at
        assert received is not None
        assert due is not None
        ends = [(t, k) for t, k in ((f.resolved_at, "resolved"), (f.rejected_at, "rejected"),
                                    (f.withdrawn_at, "withdrawn"), (f.stopped_at, "stopped"))
                if t is not None]  # fmt: skip
        end_at, kind = (max(min(ends)[0], received), min(ends)[1]) if ends else (None, None)
        if received >= e or (end_at is not None and end_at < s):
            continue
        # A wait lasts until the citizen supplements, a later request or the end.
        requests = sorted(p.requested_at for p in f.pauses)
        waits = []
        for p in f.pauses:
            if p.requested_at < received or (end_at is not None and p.requested_at >= end_at):
                continue
            stops = [t for t in (p.resumed_at, end_at) if t is not None]
            stops += [t for t in requests if t > p.requested_at]
            waits.append((p.requested_at, min(stops) if stops else None))

        def waiting(m: datetime, waits: list[Any] = waits) -> bool:
            return any(a < m and (b is None or b >= m) for a, b in waits)

        def unpaid(m: datetime, f: Facts = f, end_at: datetime | None = end_at) -> bool:
            # Waited for from the approval (at the desk) or from receipt (online).
            assert f.received_at is not None
            start = f.fee_wait_from or (f.received_at if f.fee_timing == ONLINE else None)
            if f.fee_vnd <= 0 or start is None:
                return False
            start = max(start, f.received_at)
            if f.paid_at is not None and f.paid_at <= start:
                return False
            stop = min((t for t in (f.paid_at, end_at) if t is not None), default=None)
            return start < m and (stop is None or stop >= m)

        if received < s:
            row["carried_over_awaiting_supplement" if waiting(s) else
                "carried_over_overdue" if due < s else "carried_over_in_time"] += 1  # fmt: skip
        else:
            row["received"] += 1
        second = requests[1] if len(requests) > 1 else None
        if end_at is not None and end_at < e:
            row["returned_rejected" if kind == "rejected" else str(kind)] += 1
            if kind == "resolved" and f.judgement != "late" and second and second < end_at:
                row["late_for_766"] += 1
        elif waiting(e):
            row["awaiting_supplement"] += 1
        elif unpaid(e):
            row["awaiting_fee"] += 1
        elif due < e:
            row["in_progress_overdue"] += 1
        else:
            row["in_progress_in_time"] += 1
            row["late_for_766"] += int(second is not None and second < e)
    return row


days = st.builds(lambda d: ORIGIN.date() + timedelta(days=d), st.integers(0, 125))


@settings(max_examples=300, deadline=None)
@given(st.lists(histories(), min_size=1, max_size=8), days, st.integers(0, 60))
def test_every_row_adds_up_whatever_the_history(
    dossiers: list[list[EventData]], start: date, length: int
) -> None:
    end = start + timedelta(days=length)
    facts = [merged(events) for events in dossiers]
    before, during = sums(facts, start, end)
    row = columns(before, during)
    expected = plain_row(facts, start, end)
    assert {c: row[c] for c in expected if c in row} == {
        c: v for c, v in expected.items() if c in row
    }
    assert row["total"] == sum(row[c] for c in OUTCOMES)
    assert row["total"] == (row["carried_over_in_time"] + row["carried_over_overdue"]
                            + row["carried_over_awaiting_supplement"] + row["received"])  # fmt: skip
    assert all(row[c] >= 0 for c in OUTCOMES)
    assert (
        indicators(before, during)["on_time_rate"]["late_for_supplements"]
        == (expected["late_for_766"])
    )
