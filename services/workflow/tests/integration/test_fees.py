"""Fees, through the real API, broker and database: a dossier whose fee is paid at the desk
waits, once approved, in `awaiting_fee` until the receiver records the fee (the exact
amount, once whatever the retries), which announces the payment and makes the result
ready; a fee paid online before submission never makes it wait."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.workflow.tests.integration.support import (
    PDF,
    Desk,
    arrived,
    case_status,
    emitted,
    submitted,
)
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.messaging.tables import inbox
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest
from workflow.adapters.tables import cases, history

pytestmark = pytest.mark.integration

FEE = 15000


async def _approved(desk: Desk, code: str) -> dict[str, object]:
    """Receive, process and approve the dossier; the approval's answer."""
    assert (await desk.act("receiver", code, "receive")).status_code == 200
    assigned = await desk.act("receiver", code, "assign", json={"officer": "bk.xuly"})
    assert assigned.status_code == 200
    result = await desk.act(
        "processor", code, "result",
        data={"summary": "Đã đăng ký tạm trú."}, files={"file": ("kq.pdf", PDF)},
    )  # fmt: skip
    assert result.status_code == 200, result.text
    assert (await desk.act("processor", code, "submit-for-approval")).status_code == 200
    approved = await desk.act("approver", code, "approve")
    assert approved.status_code == 200, approved.text
    body: dict[str, object] = approved.json()
    return body


async def _history(workflow: ServiceUnderTest, code: str) -> list[str]:
    async with workflow.runtime.db.transaction() as session:
        case_id = await session.scalar(select(cases.c.id).where(cases.c.code == code))
        rows = await session.execute(
            select(history.c.action).where(history.c.case_id == case_id).order_by(history.c.id)
        )
        return list(rows.scalars())


async def test_a_fee_paid_at_the_desk_holds_the_result_until_it_is_recorded(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted(fee_vnd=FEE)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)

    approved = await _approved(desk, code)
    assert approved["status"] == "awaiting_fee"
    judgement = approved["judgement"]
    events = await emitted(workflow, code)
    assert [e.type for e in events][-2:] == ["dossier.approved", "dossier.awaiting_fee"]
    waiting = events[-1].payload_as(ev.DossierAwaitingFee)
    assert waiting.amount_vnd == FEE
    assert waiting.status is ev.DossierStatus.AWAITING_FEE
    # Not ready yet: the result is not handed over before the fee.
    refused = await desk.act("receiver", code, "return-result", json={"originals_verified": True})
    assert refused.status_code == 409
    assert refused.json()["current_status"] == "awaiting_fee"
    detail = (await desk.get("receiver", f"/api/v1/dossiers/{code}")).json()
    assert detail["fee"] == {
        "amount_vnd": FEE, "timing": "on_result", "paid_at": None, "receipt_no": None,
    }  # fmt: skip

    # The wrong amount is refused, in words, and changes nothing.
    before = len(await emitted(workflow, code))
    for amount in (FEE - 1, FEE + 1000, 0):
        wrong = await desk.act(
            "receiver", code, "fee", json={"amount_vnd": amount, "receipt_no": "BL-01"}
        )
        assert wrong.status_code == 422, wrong.text
        assert wrong.headers["content-type"] == "application/problem+json"
        assert "15.000 đồng" in wrong.json()["detail"]
    assert await case_status(workflow, code) == "awaiting_fee"
    assert len(await emitted(workflow, code)) == before

    # Recorded once, whatever the retries with the same key.
    key = {"Idempotency-Key": f"thu-phi-{uuid.uuid4().hex}"}
    fee = {"amount_vnd": FEE, "receipt_no": "BL-0001/2026"}
    first = await desk.act("receiver", code, "fee", json=fee, headers=key)
    again = await desk.act("receiver", code, "fee", json=fee, headers=key)
    assert first.status_code == again.status_code == 200, first.text
    assert again.json() == first.json()
    assert first.json()["status"] == "result_ready"
    assert first.json()["receipt_no"] == "BL-0001/2026"
    # Without the key, a second recording finds the fee already taken.
    assert (await desk.act("receiver", code, "fee", json=fee)).status_code == 409

    events = await emitted(workflow, code)
    after = [e.type for e in events[before:]]
    assert after == ["payment.completed", "dossier.result_ready"]
    paid = events[before].payload_as(ev.PaymentCompleted)
    assert (paid.amount_vnd, paid.method, paid.reference) == (FEE, "in_person", "BL-0001/2026")
    assert paid.agency_code == dossier.payload_as(ev.DossierSubmitted).agency_code
    ready = events[before + 1].payload_as(ev.DossierResultReady)
    # Judged at the approval: the wait for the citizen's fee is not the agency's time.
    assert ready.judgement.value == judgement
    assert ready.resolved_at >= paid.paid_at
    assert ready.result_file is not None
    assert (await _history(workflow, code)).count("fee") == 1
    detail = (await desk.get("receiver", f"/api/v1/dossiers/{code}")).json()
    assert detail["fee"]["receipt_no"] == "BL-0001/2026"
    assert detail["fee"]["paid_at"]
    assert [h["action"] for h in detail["history"]][-2:] == ["approve", "fee"]

    returned = await desk.act("receiver", code, "return-result", json={"originals_verified": True})
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"

    # Its own payment event, delivered back through the broker, is not recorded twice.
    async def consumed() -> bool:
        async with workflow.runtime.db.transaction() as session:
            found = await session.scalar(
                select(inbox.c.event_id).where(inbox.c.event_id == paid_id)
            )
        return found is not None

    paid_id = events[before].id
    await eventually(consumed, timeout=15, what="workflow's own payment event consumed")
    assert "payment" not in await _history(workflow, code)
    assert (await _history(workflow, code)).count("fee") == 1


async def test_a_fee_paid_online_before_submission_never_makes_the_dossier_wait(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted(fee_vnd=FEE, fee_timing="before_submission")
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    first = dossier.payload_as(ev.DossierSubmitted)
    paid = ev.PaymentCompleted(
        procedure_code=first.procedure_code, procedure_name=first.procedure_name,
        field=first.field, agency_code=first.agency_code, agency_name=first.agency_name,
        status=ev.DossierStatus.SUBMITTED, amount_vnd=FEE, method="online",
        reference="GD-778899", paid_at=datetime.now(UTC),
    )  # fmt: skip
    await workflow.publish(Envelope.wrap(paid, source="intake", dossier_code=code, sequence=2))

    async def recorded() -> bool:
        async with workflow.runtime.db.transaction() as session:
            at = await session.scalar(select(cases.c.fee_paid_at).where(cases.c.code == code))
        return at is not None

    await eventually(recorded, timeout=15, what="the online payment on record")
    approved = await _approved(desk, code)
    assert approved["status"] == "result_ready"
    assert [e.type for e in await emitted(workflow, code)][-2:] == [
        "dossier.approved", "dossier.result_ready",
    ]  # fmt: skip
    detail = (await desk.get("receiver", f"/api/v1/dossiers/{code}")).json()
    assert detail["fee"]["timing"] == "before_submission"
    assert detail["fee"]["receipt_no"] is None
    # No fee to take at the desk.
    again = await desk.act("receiver", code, "fee", json={"amount_vnd": FEE, "receipt_no": "BL-9"})
    assert again.status_code == 409


async def test_a_free_procedure_is_ready_at_approval(workflow: ServiceUnderTest) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted(fee_vnd=0)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    assert (await _approved(desk, code))["status"] == "result_ready"


MALFORMED: list[dict[str, object]] = [
    {},
    {"amount_vnd": FEE},
    {"amount_vnd": FEE, "receipt_no": ""},
    {"amount_vnd": -1, "receipt_no": "BL-1"},
    {"amount_vnd": "mười lăm nghìn", "receipt_no": "BL-1"},
    {"amount_vnd": FEE, "receipt_no": "BL 1; DROP TABLE"},
    {"amount_vnd": FEE, "receipt_no": "x" * 51},
    {"amount_vnd": FEE, "receipt_no": "BL-1", "extra": True},
]


async def test_a_malformed_fee_is_refused_and_changes_nothing(workflow: ServiceUnderTest) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted(fee_vnd=FEE)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    await _approved(desk, code)
    before = len(await emitted(workflow, code))
    for body in MALFORMED:
        answer = await desk.act("receiver", code, "fee", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert await case_status(workflow, code) == "awaiting_fee"
    assert len(await emitted(workflow, code)) == before
