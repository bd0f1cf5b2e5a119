"""Fees and the national portal in the report, through RabbitMQ and the real database: a
dossier approved and waiting for its fee at the desk is `awaiting_fee` until paid; a fee
paid online counts in the online-payment indicator; the synchronisation rate counts the
dossiers whose latest record the national portal accepted, whatever the arrival order."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

import pytest

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.contracts.events import VIETNAM
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

AGENCY = ("G01.306.000.000", "Công an tỉnh Bắc Kạn")
FACTS = {
    "procedure_code": "1.004194", "procedure_name": "Đăng ký tạm trú", "field": "residence",
    "agency_code": AGENCY[0], "agency_name": AGENCY[1],
}  # fmt: skip
START = datetime(2025, 3, 3, 9, tzinfo=VIETNAM)
PERIOD = {"from": "2025-03-01", "to": "2025-03-31", "agency_code": AGENCY[0]}
S = ev.DossierStatus


class Dossier:
    """One dossier's events, as intake and workflow write them."""

    def __init__(self, fee: int = 0, timing: ev.FeeTiming = "on_result") -> None:
        self.code = f"{AGENCY[0]}-250303-{uuid.uuid4().hex[:8]}"
        self.events: list[Envelope] = []
        self.sequence = 0
        self._add(ev.DossierSubmitted(
            **FACTS, status=S.SUBMITTED, dossier_id=uuid.uuid4(), online_level="full",
            submitted_at=START - timedelta(hours=2),
            applicant=ev.Applicant(kind="citizen", full_name="Nguyễn Văn An"), form={},
            attachments=[], result_delivery=ev.ResultDelivery(method="in_person"),
            recipient=ev.Recipient(full_name="Nguyễn Văn An"), update_code="X", fee_vnd=fee,
            fee_timing=timing,
        ), START - timedelta(hours=2), source="intake")  # fmt: skip
        self._workflow(ev.DossierReceived, START, status=S.RECEIVED, channel="online",
                       counted_from=START, rule_set="nd-118-2025")  # fmt: skip

    def _add(self, data: EventData, at: datetime, source: str = "workflow") -> None:
        numbered = isinstance(data, ev.WorkflowDossierEvent)
        self.sequence += numbered
        self.events.append(Envelope.wrap(
            data, source=source, dossier_code=self.code, occurred_at=at,
            sequence=self.sequence if numbered else None,
        ))  # fmt: skip

    def _workflow(self, model: type[ev.WorkflowDossierEvent], at: datetime, **extra: Any) -> None:
        due = START + timedelta(days=20)
        self._add(model(**FACTS, actor=ev.Actor(kind="officer", name="Cán bộ"),
                        received_at=START, due_at=due, original_due_at=due, **extra), at)  # fmt: skip

    def queued(self, number: int, code: int, at: datetime) -> Dossier:
        self._add(ev.DossierSyncQueued(**FACTS, status=S.RECEIVED, status_code=code,
                                       record_sequence=number, queued_at=at), at)  # fmt: skip
        return self

    def synced(self, number: int, code: int, at: datetime) -> Dossier:
        self._add(ev.DossierSynced(**FACTS, status=S.RECEIVED, status_code=code,
                                   record_sequence=number, sent_at=at), at)  # fmt: skip
        return self

    def awaiting_fee(self, at: datetime, fee: int) -> Dossier:
        self._workflow(ev.DossierAwaitingFee, at, status=S.AWAITING_FEE, amount_vnd=fee,
                       awaiting_since=at)  # fmt: skip
        return self

    def paid(
        self, at: datetime, fee: int, method: Literal["online", "in_person"], source: str
    ) -> Dossier:
        self._add(ev.PaymentCompleted(**FACTS, status=S.RESULT_READY, amount_vnd=fee,
                                      method=method, reference="BL-1", paid_at=at),
                  at, source=source)  # fmt: skip
        return self

    def resolved(self, at: datetime) -> Dossier:
        self._workflow(ev.DossierResultReady, at, status=S.RESULT_READY, resolved_at=at,
                       judgement=ev.Judgement.EARLY, result_summary="Đã cấp",
                       processing_working_hours=8.0)  # fmt: skip
        return self


def day(n: int, hour: int = 9) -> datetime:
    return START + timedelta(days=n, hours=hour - 9)


async def _indicators(stats: ServiceUnderTest, **period: str) -> dict[str, Any]:
    async with stats.client() as client:
        answer = await client.get("/api/v1/indicators", params={**PERIOD, **period})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["indicators"]
    return found


async def _known(stats: ServiceUnderTest) -> bool:
    """The agency is known once its first event is projected (before, a 404)."""
    async with stats.client() as client:
        answer = await client.get("/api/v1/indicators", params=PERIOD)
    return answer.status_code == 200


async def _totals(stats: ServiceUnderTest, **period: str) -> dict[str, Any]:
    async with stats.client() as client:
        answer = await client.get("/api/v1/reports/processing", params={**PERIOD, **period})
    assert answer.status_code == 200, answer.text
    totals: dict[str, Any] = answer.json()["totals"]
    return totals


async def _publish(stats: ServiceUnderTest, dossiers: list[Dossier], seed: int) -> None:
    """Every event, in an order of their own, one of them twice."""
    events = [e for d in dossiers for e in d.events]
    random.Random(seed).shuffle(events)
    for envelope in [*events, events[0]]:
        await stats.publish(envelope)


async def test_the_sync_rate_counts_the_dossiers_whose_latest_record_was_accepted(
    stats: ServiceUnderTest,
) -> None:
    dossiers = [
        # All its records accepted.
        Dossier()
        .queued(1, 1, day(0, 7))
        .queued(2, 2, day(0))
        .synced(1, 1, day(0, 8))
        .synced(2, 2, day(0, 10)),
        # The reception not accepted yet.
        Dossier().queued(1, 1, day(0, 7)).queued(2, 2, day(0)).synced(1, 1, day(0, 8)),
        # Accepted, then a new status not yet sent.
        Dossier()
        .queued(1, 1, day(0, 7))
        .queued(2, 2, day(0))
        .synced(1, 1, day(0, 8))
        .synced(2, 2, day(0, 10))
        .queued(3, 4, day(1)),
        # Never heard of by the portal.
        Dossier().queued(1, 1, day(0, 7)).queued(2, 2, day(0)),
    ]
    await _publish(stats, dossiers, seed=16)

    async def counted() -> dict[str, Any] | None:
        if not await _known(stats):
            return None
        found = await _indicators(stats)
        rate: dict[str, Any] = found["national_sync_rate"]
        return rate if rate["denominator"] == 4 and rate["numerator"] == 1 else None

    rate = await eventually(counted, timeout=20, what="the synchronisation rate")
    assert rate["value"] == 25.0

    # The pending ones are sent: the rate follows, on the same receipt day.
    dossiers[1].events.clear()
    dossiers[2].events.clear()
    dossiers[1].synced(2, 2, day(2))
    dossiers[2].synced(3, 4, day(2))
    await _publish(stats, dossiers[1:3], seed=17)

    async def caught_up() -> dict[str, Any] | None:
        rate: dict[str, Any] = (await _indicators(stats))["national_sync_rate"]
        return rate if rate["numerator"] == 3 else None

    rate = await eventually(caught_up, timeout=20, what="the rate after the portal caught up")
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (3, 4, 75.0)
    # Nothing received in another period.
    empty = await _indicators(stats, **{"from": "2025-04-01", "to": "2025-04-30"})
    assert empty["national_sync_rate"] == {"numerator": 0, "denominator": 0, "value": None}


async def test_a_fee_awaited_at_the_desk_and_a_fee_paid_online_in_the_report(
    stats: ServiceUnderTest,
) -> None:
    fee = 15000
    dossiers = [
        # Approved on the 5th, the fee still owed at the end of March.
        Dossier(fee).awaiting_fee(day(2), fee),
        # Approved, the fee paid at the desk on the 10th: resolved then.
        Dossier(fee)
        .awaiting_fee(day(2), fee)
        .paid(day(7), fee, "in_person", "workflow")
        .resolved(day(7)),
        # Paid online before submission, resolved: never waited.
        Dossier(fee, "before_submission")
        .paid(START - timedelta(hours=1), fee, "online", "intake")
        .resolved(day(4)),
        # At the desk, still being processed: in progress, not waiting for the fee.
        Dossier(fee),
    ]
    await _publish(stats, dossiers, seed=6)

    async def projected() -> dict[str, Any] | None:
        if not await _known(stats):
            return None
        totals = await _totals(stats)
        return totals if totals["resolved"] == 2 and totals["total"] == 4 else None

    totals = await eventually(projected, timeout=20, what="the four dossiers in the report")
    assert totals["awaiting_fee"] == 1
    # Due on the 23rd: processing, and late, but not waiting for the citizen's fee.
    assert (totals["in_progress_overdue"], totals["in_progress_in_time"]) == (1, 0)
    # On the 6th, both approved dossiers waited for their fee.
    on_the_6th = await _totals(stats, **{"from": "2025-03-06", "to": "2025-03-06"})
    assert on_the_6th["awaiting_fee"] == 2
    found = await _indicators(stats)
    assert found["online_payment_rate"] == {"numerator": 1, "denominator": 4, "value": 25.0}
