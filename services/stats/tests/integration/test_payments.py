"""The online-payment indicator counts a dossier whose fee was paid online, from the
events as intake and workflow publish them through RabbitMQ: `dossier.submitted`, then
`payment.completed` (online, with the submission of a paid draft; in person, at the desk,
from workflow), then workflow's `dossier.received`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

AGENCY = "G01.306.000.000"
FACTS = {
    "procedure_code": "1.004194", "procedure_name": "Đăng ký tạm trú", "field": "residence",
    "agency_code": AGENCY, "agency_name": "Công an tỉnh Bắc Kạn",
}  # fmt: skip


def dossier(
    code: str, fee: int, method: Literal["online", "in_person"] | None, at: datetime
) -> list[Envelope]:
    submitted = ev.DossierSubmitted(
        **FACTS, status=ev.DossierStatus.SUBMITTED, dossier_id=uuid.uuid4(),
        online_level="full", submitted_at=at,
        applicant=ev.Applicant(kind="citizen", full_name="Nguyễn Văn An"), form={},
        attachments=[], result_delivery=ev.ResultDelivery(method="online"),
        recipient=ev.Recipient(full_name="Nguyễn Văn An"), update_code="X", fee_vnd=fee,
        fee_timing="before_submission" if method == "online" else "on_result",
    )  # fmt: skip
    events = [Envelope.wrap(submitted, source="intake", dossier_code=code, occurred_at=at)]
    if method is not None:
        paid = ev.PaymentCompleted(
            **FACTS, status=ev.DossierStatus.SUBMITTED, amount_vnd=fee, method=method,
            reference="BL20261201-0000001", paid_at=at,
        )  # fmt: skip
        events.append(Envelope.wrap(paid, source="intake", dossier_code=code, occurred_at=at))
    received = ev.DossierReceived(
        **FACTS, status=ev.DossierStatus.RECEIVED, actor=ev.Actor(kind="officer", id="o1"),
        received_at=at + timedelta(minutes=5), due_at=at + timedelta(days=3),
        channel="online", counted_from=at + timedelta(minutes=5), rule_set="118/2025",
    )  # fmt: skip
    events.append(Envelope.wrap(received, source="workflow", dossier_code=code, sequence=1,
                                occurred_at=at + timedelta(minutes=5)))  # fmt: skip
    return events


async def test_the_online_payment_indicator_counts_the_dossier_paid_online(
    stats: ServiceUnderTest,
) -> None:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    today = at.astimezone(ev.VIETNAM).date()
    period = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    for envelope in [
        *dossier(f"{AGENCY}-PAID", 15000, "online", at),
        *dossier(f"{AGENCY}-DESK", 15000, "in_person", at),
        *dossier(f"{AGENCY}-FREE", 0, None, at),
    ]:
        await stats.publish(envelope)

    async def rate() -> dict[str, Any] | None:
        async with stats.client() as client:
            answer = await client.get("/api/v1/indicators", params=period)
        found: dict[str, Any] = answer.json()["indicators"]["online_payment_rate"]
        return found if found["denominator"] == 2 else None

    found = await eventually(rate, timeout=30, what="the fee-bearing dossiers counted")
    assert (found["numerator"], found["denominator"]) == (1, 2)
