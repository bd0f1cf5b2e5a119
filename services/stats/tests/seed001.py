"""An event history that must give the Sở Tài nguyên và Môi trường row of seed 001
(01/01/2019 – 22/10/2019): 337 / 10 / 69 carried over (in time, overdue, awaiting a
supplement), 12 352 received, 12 768 in all, 11 414 resolved early or on time, 76 late,
99,3 %, 278 in progress in time, 4 overdue, and 388 + 608 waiting.

The seed's waiting block is four columns under one heading, read here as awaiting a
supplement (388), awaiting the fee (608), stopped (0) and returned (0); the seed does not
split early from on time, so some of the 11 414 are early.

Each dossier is given where it must stand at the period's start and end, and its events
are drawn around that (times of day, days, supplement rounds, fees paid before receipt);
around them, dossiers the row must not count: ended before the period, received after
it, refused at the desk.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from shared.contracts import Envelope
from shared.contracts import events as ev

AGENCY = ("SO-TNMT", "Sở Tài nguyên và Môi trường")  # the seed's row; no official code given
PROCEDURE = ("DEMO.TNMT.01", "Đăng ký đất đai", "land")
PERIOD = (date(2019, 1, 1), date(2019, 10, 22))
ROW = {
    "carried_over_in_time": 337, "carried_over_overdue": 10,
    "carried_over_awaiting_supplement": 69, "received": 12352, "total": 12768,
    "resolved_on_time_or_early": 11414, "resolved_late": 76, "on_time_rate": 99.3,
    "on_time_rate_text": "99,3%", "in_progress_in_time": 278, "in_progress_overdue": 4,
    "awaiting_supplement": 388, "awaiting_fee": 608, "stopped": 0, "returned_rejected": 0,
    "withdrawn": 0,
}  # fmt: skip
# Resolved early or on time although asked for a supplement twice: late for Decision 766.
ASKED_TWICE = 57


def _at(rng: random.Random, on: date) -> datetime:
    """A moment of office hours that day, Vietnam time."""
    return datetime(on.year, on.month, on.day, 7, tzinfo=ev.VIETNAM) + timedelta(
        minutes=rng.randrange(0, 10 * 60)
    )


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


class _Dossier:
    """One dossier's events, numbered as intake and workflow number them."""

    def __init__(self, events: list[Envelope], code: str, fee: int, submitted: datetime) -> None:
        self.events, self.code, self.sequence = events, code, 0
        self.facts = {"procedure_code": PROCEDURE[0], "procedure_name": PROCEDURE[1],
                      "field": PROCEDURE[2], "agency_code": AGENCY[0], "agency_name": AGENCY[1]}  # fmt: skip
        self.received_at: datetime | None = None
        self.due_at: datetime | None = None
        self.round = 0
        self.events.append(Envelope.wrap(
            ev.DossierSubmitted(
                **self.facts, status=ev.DossierStatus.SUBMITTED, dossier_id=uuid.uuid4(),
                online_level="full", submitted_at=submitted,
                applicant=ev.Applicant(kind="citizen", full_name="Nguyễn Văn An"), form={},
                attachments=[], result_delivery=ev.ResultDelivery(method="in_person"),
                recipient=ev.Recipient(full_name="Nguyễn Văn An"), update_code="X", fee_vnd=fee,
            ),
            source="intake", dossier_code=code, sequence=1, occurred_at=submitted,
        ))  # fmt: skip

    def _workflow(self, model: type[ev.WorkflowDossierEvent], at: datetime, **extra: Any) -> None:
        self.sequence += 1
        data = model(**self.facts, actor=ev.Actor(kind="officer", name="Cán bộ"),
                     received_at=self.received_at, due_at=self.due_at,
                     original_due_at=self.due_at, **extra)  # fmt: skip
        self.events.append(Envelope.wrap(data, source="workflow", dossier_code=self.code,
                                         sequence=self.sequence, occurred_at=at))  # fmt: skip

    def pay(self, at: datetime, amount: int) -> None:
        self.events.append(Envelope.wrap(
            ev.PaymentCompleted(**self.facts, status=ev.DossierStatus.SUBMITTED, amount_vnd=amount,
                                method="online", reference="GD", paid_at=at),
            source="intake", dossier_code=self.code, sequence=2, occurred_at=at,
        ))  # fmt: skip

    def receive(self, at: datetime, days: int) -> None:
        self.received_at, self.due_at = at, at + timedelta(days=days)
        self._workflow(ev.DossierReceived, at, status=ev.DossierStatus.RECEIVED,
                       channel="online", counted_from=at, rule_set="nd-61-2018")  # fmt: skip

    def ask(self, at: datetime) -> None:
        self.round += 1
        self._workflow(ev.DossierSupplementRequested, at, round=self.round, requested_at=at,
                       status=ev.DossierStatus.SUPPLEMENT_REQUESTED,
                       items=[ev.SupplementItem(description="Bổ sung bản đồ địa chính")])  # fmt: skip

    def resume(self, at: datetime, paused: timedelta) -> None:
        assert self.due_at is not None
        previous, self.due_at = self.due_at, self.due_at + paused
        self._workflow(ev.DossierResumed, at, status=ev.DossierStatus.IN_PROGRESS,
                       round=self.round, resumed_at=at, paused_working_hours=8,
                       previous_due_at=previous)  # fmt: skip

    def await_fee(self, at: datetime, amount: int) -> None:
        self._workflow(ev.DossierAwaitingFee, at, status=ev.DossierStatus.AWAITING_FEE,
                       amount_vnd=amount, awaiting_since=at)  # fmt: skip

    def resolve(self, at: datetime) -> None:
        assert self.due_at is not None
        judgement = (ev.Judgement.LATE if at > self.due_at
                     else ev.Judgement.EARLY if at.date() < self.due_at.date()
                     else ev.Judgement.ON_TIME)  # fmt: skip
        self._workflow(ev.DossierResultReady, at, status=ev.DossierStatus.RESULT_READY,
                       resolved_at=at, judgement=judgement, result_summary="Đã cấp",
                       processing_working_hours=40.0)  # fmt: skip


def generate(seed: int = 2019) -> list[Envelope]:
    rng = random.Random(seed)
    start, end = PERIOD
    events: list[Envelope] = []
    number = 0

    def dossier(received_on: date, fee: int = 0) -> _Dossier:
        nonlocal number
        number += 1
        submitted = _at(rng, received_on) - timedelta(hours=rng.randrange(1, 40))
        return _Dossier(events, f"SO-TNMT-{number:06d}", fee, submitted)

    def received(on: date, days: int, fee: int = 0) -> _Dossier:
        d = dossier(on, fee)
        if fee:
            d.pay(_at(rng, on) - timedelta(days=1), fee)  # paid online with the submission
        d.receive(_at(rng, on), days)
        return d

    # Carried over in time (337): received in December, due in the new year, resolved in
    # time; a few supplemented and one asked twice.
    for i in range(337):
        d = received(_day(rng, date(2018, 12, 10), date(2018, 12, 28)), 30)
        if i % 20 == 0:
            d.ask(_at(rng, date(2018, 12, 29)) + timedelta(days=1))  # 30/12, answered next day
            d.resume(_at(rng, date(2018, 12, 31)), timedelta(days=1))
        d.resolve(_at(rng, _day(rng, date(2019, 1, 2), date(2019, 1, 8))))
    # Carried over overdue (10): due in December; 6 resolved late, 4 still in progress.
    for i in range(10):
        d = received(_day(rng, date(2018, 11, 1), date(2018, 11, 20)), 20)
        if i < 6:
            d.resolve(_at(rng, _day(rng, date(2019, 1, 2), date(2019, 2, 28))))
    # Carried over awaiting a supplement (69): asked in December, supplemented in
    # January (one of them on the period's first day), then resolved in time.
    for i in range(69):
        d = received(_day(rng, date(2018, 12, 1), date(2018, 12, 20)), 15)
        d.ask(_at(rng, _day(rng, date(2018, 12, 21), date(2018, 12, 31))))
        back = date(2019, 1, 1) if i == 0 else _day(rng, date(2019, 1, 2), date(2019, 1, 20))
        d.resume(_at(rng, back), timedelta(days=45))
        d.resolve(_at(rng, back + timedelta(days=5)))
    # Received in the period (12 352).
    plan = (["in_time"] * (11414 - 337 - 69) + ["late"] * (76 - 6) + ["in_progress"] * 278
            + ["awaiting_supplement"] * 388 + ["awaiting_fee"] * 608)  # fmt: skip
    assert len(plan) == 12352
    rng.shuffle(plan)
    twice = 0
    for outcome in plan:
        if outcome == "in_time":
            on = _day(rng, start, end - timedelta(days=40))
            d = received(on, 15, fee=rng.choice([0, 0, 50000]))
            first = 1
            if twice < ASKED_TWICE:
                twice, first = twice + 1, 5
                for k in (1, 3):
                    d.ask(_at(rng, on + timedelta(days=k)))
                    d.resume(_at(rng, on + timedelta(days=k + 1)), timedelta(days=1))
            resolved_on = on + timedelta(days=rng.randrange(first, 15))
            d.resolve(_at(rng, resolved_on))
        elif outcome == "late":
            on = _day(rng, start, end - timedelta(days=40))
            d = received(on, 10)
            d.resolve(_at(rng, on + timedelta(days=rng.randrange(12, 30))))
        elif outcome == "in_progress":
            # Received late in the period, due after it; some already supplemented.
            on = _day(rng, end - timedelta(days=20), end)
            d = received(on, 30)
            if rng.random() < 0.2 and on < end and d.received_at is not None:
                d.ask(d.received_at + timedelta(hours=1))
                d.resume(_at(rng, on + timedelta(days=1)), timedelta(days=1))
        elif outcome == "awaiting_supplement":
            on = _day(rng, end - timedelta(days=60), end - timedelta(days=1))
            d = received(on, 15)
            # Asked, at the latest on the period's last day (still waiting at midnight).
            d.ask(_at(rng, _day(rng, on + timedelta(days=1), end)))
        else:  # awaiting the fee to be paid at the desk: received, approved, never paid
            on = _day(rng, end - timedelta(days=60), end)
            dossier_ = dossier(on, fee=50000)
            dossier_.receive(_at(rng, on), 30)
            assert dossier_.received_at is not None
            dossier_.await_fee(dossier_.received_at + timedelta(minutes=30), 50000)
    # Not in the row: ended before the period, received after it, refused at the desk.
    for _ in range(500):
        d = received(_day(rng, date(2018, 6, 1), date(2018, 11, 30)), 15)
        d.resolve(_at(rng, date(2018, 12, 20)))
    for _ in range(200):
        received(_day(rng, date(2019, 10, 23), date(2019, 12, 31)), 15)
    for _ in range(100):
        d = dossier(_day(rng, start, end))
        d._workflow(ev.DossierRejected, _at(rng, _day(rng, start, end)),
                    status=ev.DossierStatus.REJECTED, reason="Sai thẩm quyền",
                    rejected_at=_at(rng, _day(rng, start, end)), stage="intake")  # fmt: skip
    return events
