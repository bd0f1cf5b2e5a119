"""A fee paid online end to end, on the four services as processes (the e2e stack) and the
sandbox gateway as its own: the citizen pays a fully online procedure's fee at the
gateway before submitting, the officers receive and approve it (the fee paid, no "awaiting
fee" step), the result is returned; the citizen's dossier shows the receipt, and stats'
online-payment indicator counts the dossier.

A Sóc Trăng commune unit no other journey uses, so that its indicator is this dossier's."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.testing.gateway import GatewayServer
from shared.testing.infra import eventually
from shared.testing.processes import ServiceProcess
from shared.testing.smtp import Mailbox
from tests.e2e.journeys import PDF, WAIT, Citizen, Portal, today

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

COMMUNE = "G01.394.941.001"  # a ward of Sóc Trăng city: stp1.tiepnhan, stp1.xuly, stp1.lanhdao
PROCEDURE = "1.004194"  # Đăng ký tạm trú at the commune police: 7,000 đồng paid online
FEE = 7000
RESULT = b"%PDF-1.7\n" + b"3" * 4096 + b"\nstartxref\n9\n%%EOF\n"


@pytest.fixture(scope="module")
async def portal(stack: dict[str, ServiceProcess], mailbox: Mailbox) -> Portal:
    return Portal(stack, mailbox)


def temporary_stay(citizen: Citizen) -> dict[str, Any]:
    address = {"province": "Sóc Trăng", "district": "Thành phố Sóc Trăng", "commune": "Phường 1"}
    start = today() + timedelta(days=1)
    return {
        "full_name": citizen.full_name, "date_of_birth": "1990-05-17", "sex": "Nữ",
        "personal_id": citizen.id_number, "phone": citizen.phone,
        "temporary_address": {**address, "street": "12 Trần Hưng Đạo"},
        "stay_from": start.isoformat(), "stay_until": (start + timedelta(days=180)).isoformat(),
        "reason": "Đi làm tại thành phố",
    }  # fmt: skip


async def test_a_fee_paid_online_through_to_the_returned_result(
    portal: Portal, gateway: GatewayServer
) -> None:
    citizen = await portal.citizen("Trần Thị Mỹ Linh")
    draft = await portal.ok("intake", "POST", "/api/v1/dossiers", headers=citizen.headers, json={
        "procedure_code": PROCEDURE, "agency_code": COMMUNE, "case_code": "individual",
        "form": temporary_stay(citizen), "notify_via": ["sms"],
        "result_delivery": {"method": "online"},
    })  # fmt: skip
    dossier = f"/api/v1/dossiers/{draft['id']}"
    await portal.ok(
        "intake", "POST", f"{dossier}/attachments", headers=citizen.headers,
        data={"document_code": "TP2"}, files={"file": ("giay-to.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    submit = {"headers": {**citizen.headers, "Idempotency-Key": uuid.uuid4().hex},
              "json": {"commitment": True}}  # fmt: skip
    unpaid = await portal.call("intake", "POST", f"{dossier}/submit", **submit)
    assert unpaid.status_code == 409, unpaid.text

    # The citizen's browser: intake's signed link, the gateway's page, the bank approves.
    started = await portal.ok("intake", "POST", f"{dossier}/payment", headers=citizen.headers)
    assert started["amount_vnd"] == FEE
    async with httpx.AsyncClient(timeout=20) as browser:
        page = await browser.get(started["redirect_url"])
        assert page.status_code == 200, page.text
        decided = await browser.post(
            f"{gateway.url}/paymentv2/decide",
            data={"vnp_TxnRef": started["payment_id"], "decision": "approve"},
        )
        assert decided.status_code == 303, decided.text

    async def paid() -> dict[str, Any] | None:
        payment: dict[str, Any] = await portal.ok(
            "intake", "GET", f"{dossier}/payment", headers=citizen.headers
        )
        return payment if payment["status"] == "paid" else None

    payment = await eventually(paid, timeout=WAIT, what="the gateway's notification settled")
    submitted = await portal.ok(
        "intake", "POST", f"{dossier}/submit",
        headers={**citizen.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"commitment": True},
    )  # fmt: skip
    code = submitted["code"]

    # The officers: received, processed, approved straight to the result (already paid).
    await portal.arrived("stp1.tiepnhan", code)
    assert (await portal.act("stp1.tiepnhan", code, "receive"))["status"] == "received"
    assert (await portal.act("stp1.tiepnhan", code, "assign", {"officer": "stp1.xuly"}))[
        "status"
    ] == "in_progress"
    recorded = await portal.call(
        "workflow", "POST", f"/api/v1/dossiers/{code}/result",
        headers=await portal.officer("stp1.xuly"), data={"summary": "Đã đăng ký tạm trú"},
        files={"file": ("ket-qua.pdf", RESULT, "application/pdf")},
    )  # fmt: skip
    assert recorded.status_code in (200, 201), recorded.text
    submitted_for_approval = await portal.act("stp1.xuly", code, "submit-for-approval")
    assert submitted_for_approval["status"] == "pending_approval"
    assert (await portal.act("stp1.lanhdao", code, "approve"))["status"] == "result_ready"
    returned = await portal.act(
        "stp1.tiepnhan", code, "return-result", {"originals_verified": True}
    )
    assert returned["status"] == "returned"
    history = [h["to_status"] for h in (await portal.case("stp1.tiepnhan", code))["history"]]
    assert "awaiting_fee" not in history, history

    # The citizen's dossier: returned, with the receipt of the fee paid online.
    await portal.timeline(
        citizen, code, "submitted", "received", "in_progress", "pending_approval",
        "result_ready", "returned",
    )  # fmt: skip
    own = await portal.own(citizen, code)
    assert own["payment"]["status"] == "paid"
    assert own["payment"]["receipt_no"] == payment["receipt_no"]
    assert own["payment"]["amount_vnd"] == FEE
    receipt = await portal.call("intake", "GET", own["payment"]["receipt_url"],
                                headers=citizen.headers)  # fmt: skip
    assert receipt.status_code == 200, receipt.text
    assert receipt.content.startswith(b"%PDF")

    # stats: the dossier's fee was due and paid online.
    period = {"from": today().isoformat(), "to": today().isoformat(), "agency_code": COMMUNE}

    async def counted() -> dict[str, Any] | None:
        answer = await portal.ok("stats", "GET", "/api/v1/indicators", params=period)
        rate: dict[str, Any] = answer["indicators"]["online_payment_rate"]
        return rate if rate["denominator"] else None

    rate = await eventually(counted, timeout=WAIT, what="the online-payment indicator")
    assert (rate["numerator"], rate["denominator"]) == (1, 1), rate
