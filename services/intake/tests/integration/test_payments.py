"""Fees paid online before submission, against the sandbox gateway as a real process
(shared/testing/gateway.py) speaking the signed-redirect and signed-notification protocol,
intake on the real PostgreSQL, RabbitMQ and object store.

The citizen's browser follows intake's signed link to the gateway's page, the "bank"
approves or declines, the gateway notifies intake server to server. Refused or idempotent:
a forged notification, a wrong amount, a replayed or duplicated one, one for an unknown
order. The daily reconciliation finds what was planted."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from intake.adapters.tables import payments
from services.intake.tests.conftest import StartIntake
from services.intake.tests.integration.support import (
    PDF,
    Citizen,
    add_citizen,
    add_test_procedure,
    draft_body,
    file_part,
    outbox_events,
)
from shared import payment_gateway as protocol
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.events import VIETNAM
from shared.testing.gateway import GatewayServer, running_gateway
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

NOTIFY = "/api/v1/payments/notify"
RETURN_URL = "https://portal.example.vn/thanh-toan/ket-qua"
FEE = 15000


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayServer]:
    with running_gateway(tmp_path / "gateway.log") as server:
        yield server


@dataclass
class World:
    intake: ServiceUnderTest
    gateway: GatewayServer
    agency: str

    async def control(self, **changes: Any) -> None:
        async with self.gateway.client() as client:
            (await client.post("/control", json=changes)).raise_for_status()

    async def notifications(self, order: str) -> list[dict[str, Any]]:
        async with self.gateway.client() as client:
            answer = await client.get("/notifications", params={"txn_ref": order})
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def draft(self, citizen: Citizen) -> str:
        async with self.intake.client() as client:
            made = await client.post(
                "/api/v1/dossiers", json=draft_body(self.agency), headers=citizen.auth
            )
            dossier_id = str(made.json()["id"])
            added = await client.post(
                f"/api/v1/dossiers/{dossier_id}/attachments", data={"document_code": "TP1"},
                files=[file_part(PDF)], headers=citizen.auth,
            )  # fmt: skip
        assert added.status_code == 201, added.text
        return dossier_id

    async def start_payment(self, citizen: Citizen, dossier_id: str) -> dict[str, Any]:
        async with self.intake.client() as client:
            started = await client.post(
                f"/api/v1/dossiers/{dossier_id}/payment", headers=citizen.auth
            )
        assert started.status_code == 201, started.text
        body: dict[str, Any] = started.json()
        return body

    async def pay(self, redirect_url: str, decision: str = "approve") -> httpx.Response:
        """The citizen's browser at the gateway: its page, then the bank's decision."""
        async with httpx.AsyncClient(timeout=30) as browser:
            page = await browser.get(redirect_url)
            assert page.status_code == 200, page.text
            assert "15,000 VND" in page.text
            order = dict(httpx.URL(redirect_url).params)["vnp_TxnRef"]
            return await browser.post(
                f"{self.gateway.url}/paymentv2/decide",
                data={"vnp_TxnRef": order, "decision": decision},
            )

    async def payment(self, citizen: Citizen, dossier_id: str) -> httpx.Response:
        async with self.intake.client() as client:
            return await client.get(f"/api/v1/dossiers/{dossier_id}/payment", headers=citizen.auth)

    async def status_becomes(self, citizen: Citizen, dossier_id: str, status: str) -> Any:
        async def probe() -> dict[str, Any] | None:
            body: dict[str, Any] = (await self.payment(citizen, dossier_id)).json()
            return body if body.get("status") == status else None

        return await eventually(probe, timeout=30, what=f"the payment {status}")

    async def submit(self, citizen: Citizen, dossier_id: str) -> httpx.Response:
        async with self.intake.client() as client:
            return await client.post(
                f"/api/v1/dossiers/{dossier_id}/submit", json={"commitment": True},
                headers=citizen.auth,
            )  # fmt: skip

    async def notify(self, params: dict[str, str]) -> dict[str, Any]:
        """A notification sent to intake as the gateway would send it."""
        async with self.intake.client() as client:
            answer = await client.post(NOTIFY, data=params)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def row(self, order: str) -> Any:
        async with self.intake.runtime.db.transaction() as session:
            found = await session.execute(
                payments.select().where(payments.c.id == uuid.UUID(order))
            )
            return found.mappings().one()


@pytest.fixture
async def world(start_intake: StartIntake, gateway: GatewayServer) -> World:
    intake = await start_intake(
        gateway_url=gateway.url, gateway_tmn_code=gateway.tmn_code,
        gateway_hash_secret=gateway.hash_secret, gateway_return_url=RETURN_URL,
    )  # fmt: skip
    agency = await add_test_procedure(intake, fee_vnd=FEE, fee_timing="before_submission")
    world = World(intake, gateway, agency)
    await world.control(ipn_url=f"{intake.url}{NOTIFY}")
    return world


def approved_notice(world: World, order: str, **changes: str) -> dict[str, str]:
    """A notification of the gateway's, correctly signed, for `order`."""
    params = {
        "vnp_TmnCode": world.gateway.tmn_code, "vnp_Amount": str(FEE * 100),
        "vnp_BankCode": "NCB", "vnp_OrderInfo": "Le phi", "vnp_ResponseCode": "00",
        "vnp_TransactionNo": "99000001", "vnp_TransactionStatus": "00", "vnp_TxnRef": order,
        "vnp_PayDate": protocol.gateway_time(datetime.now(VIETNAM)), **changes,
    }  # fmt: skip
    return protocol.sign(world.gateway.hash_secret, params)


async def test_a_fee_bearing_online_dossier_is_paid_through_the_gateway_and_submitted(
    world: World,
) -> None:
    citizen = await add_citizen(world.intake)
    dossier_id = await world.draft(citizen)

    unpaid = await world.submit(citizen, dossier_id)
    assert unpaid.status_code == 409, unpaid.text
    assert "chưa nộp lệ phí" in unpaid.json()["detail"]
    assert (await world.payment(citizen, dossier_id)).status_code == 404

    started = await world.start_payment(citizen, dossier_id)
    assert started["amount_vnd"] == FEE
    link = httpx.URL(started["redirect_url"])
    assert str(link).startswith(f"{world.gateway.url}/paymentv2/vpcpay.html?")
    assert link.params["vnp_Amount"] == str(FEE * 100)
    assert link.params["vnp_TxnRef"] == started["payment_id"]
    assert (await world.payment(citizen, dossier_id)).json()["status"] == "pending"

    back = await world.pay(started["redirect_url"])
    assert back.status_code == 303
    assert back.headers["location"].startswith(f"{RETURN_URL}?")

    paid = await world.status_becomes(citizen, dossier_id, "paid")
    assert paid["amount_vnd"] == FEE
    assert paid["receipt_no"].startswith("BL")
    [sent] = await world.notifications(started["payment_id"])
    assert sent["answer"] == {"RspCode": "00", "Message": "Confirm Success"}

    submitted = await world.submit(citizen, dossier_id)
    assert submitted.status_code == 200, submitted.text
    code = submitted.json()["code"]
    [completed] = [e for e in await outbox_events(world.intake, "payment.completed")
                   if e.dossier_code == code]  # fmt: skip
    assert completed.data["amount_vnd"] == FEE
    assert completed.data["method"] == "online"
    assert completed.data["reference"] == paid["receipt_no"]
    [announced] = [e for e in await outbox_events(world.intake, "dossier.submitted")
                   if e.dossier_code == code]  # fmt: skip
    assert announced.data["fee_timing"] == "before_submission"

    async with world.intake.client() as client:
        view = (await client.get(f"/api/v1/dossiers/{code}", headers=citizen.auth)).json()
        pdf = await client.get(f"/api/v1/dossiers/{code}/receipt.pdf", headers=citizen.auth)
        again = await client.post(f"/api/v1/dossiers/{dossier_id}/payment", headers=citizen.auth)
        other = await add_citizen(world.intake)
        foreign = await client.get(f"/api/v1/dossiers/{code}/receipt.pdf", headers=other.auth)
    # The receipt on the dossier itself, and where its PDF is.
    assert view["payment"] == {
        **paid, "receipt_url": f"/api/v1/dossiers/{code}/receipt.pdf"
    }  # fmt: skip
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (paid["receipt_no"], code, "15.000 đồng", "BIÊN LAI THU LỆ PHÍ"):
        assert expected in text, text
    assert again.status_code == 409
    assert foreign.status_code == 404


async def test_a_forged_notification_settles_nothing(world: World) -> None:
    citizen = await add_citizen(world.intake)
    dossier_id = await world.draft(citizen)
    started = await world.start_payment(citizen, dossier_id)
    await world.control(forge_next=1)

    await world.pay(started["redirect_url"])

    [sent] = await world.notifications(started["payment_id"])
    assert sent["forged"] is True
    assert sent["answer"] == {"RspCode": "97", "Message": "Invalid signature"}
    assert (await world.payment(citizen, dossier_id)).json()["status"] == "pending"
    assert (await world.submit(citizen, dossier_id)).status_code == 409
    # Unsigned, or signed by anyone but the gateway: the same answer.
    unsigned = {k: v for k, v in approved_notice(world, started["payment_id"]).items()
                if k != protocol.HASH}  # fmt: skip
    assert (await world.notify(unsigned))["RspCode"] == "97"
    assert (await world.notify({}))["RspCode"] == "97"


async def test_a_wrong_amount_or_an_unknown_order_is_refused(world: World) -> None:
    citizen = await add_citizen(world.intake)
    dossier_id = await world.draft(citizen)
    order = (await world.start_payment(citizen, dossier_id))["payment_id"]

    cheaper = approved_notice(world, order, vnp_Amount=str(FEE))  # 150 đồng
    assert await world.notify(cheaper) == {"RspCode": "04", "Message": "Invalid amount"}
    assert (await world.payment(citizen, dossier_id)).json()["status"] == "pending"

    unknown = await world.notify(approved_notice(world, str(uuid.uuid4())))
    assert unknown == {"RspCode": "01", "Message": "Order not found"}
    # Signed, but not an order this portal could have made.
    assert (await world.notify(approved_notice(world, "not-an-order")))["RspCode"] == "99"
    assert (await world.payment(citizen, dossier_id)).json()["status"] == "pending"


async def test_a_replayed_or_duplicated_notification_changes_nothing(world: World) -> None:
    citizen = await add_citizen(world.intake)
    dossier_id = await world.draft(citizen)
    order = (await world.start_payment(citizen, dossier_id))["payment_id"]
    await world.control(duplicate_next=1)

    await world.pay((await world.start_payment(citizen, dossier_id))["redirect_url"])
    # The second attempt was paid; the first one stays pending until the gateway says.
    paid = await world.status_becomes(citizen, dossier_id, "paid")
    sent = await world.notifications(paid["payment_id"])
    assert [n["answer"]["RspCode"] for n in sent] == ["00", "00"]
    before = await world.row(paid["payment_id"])

    replay = sent[0]["params"]
    assert (await world.notify(replay))["RspCode"] == "00"
    # Another notification, validly signed, for the settled order: refused, nothing moves.
    declined = approved_notice(
        world, paid["payment_id"], vnp_ResponseCode="24", vnp_TransactionStatus="02"
    )
    assert (await world.notify(declined))["RspCode"] == "02"
    assert await world.row(paid["payment_id"]) == before

    # The first attempt paid as well (the citizen paid in two tabs): owed back.
    assert (await world.notify(approved_notice(world, order)))["RspCode"] == "00"
    assert (await world.row(order))["status"] == "refund_due"
    assert (await world.payment(citizen, dossier_id)).json()["receipt_no"] == before["receipt_no"]


async def test_a_declined_payment_may_be_tried_again_and_a_late_notice_still_counts(
    world: World,
) -> None:
    citizen = await add_citizen(world.intake)
    dossier_id = await world.draft(citizen)
    await world.pay((await world.start_payment(citizen, dossier_id))["redirect_url"], "decline")
    await world.status_becomes(citizen, dossier_id, "failed")
    assert (await world.submit(citizen, dossier_id)).status_code == 409

    await world.control(late_next=1, late_seconds=1)
    await world.pay((await world.start_payment(citizen, dossier_id))["redirect_url"])
    await world.status_becomes(citizen, dossier_id, "paid")
    assert (await world.submit(citizen, dossier_id)).status_code == 200


def _ending(kind: str, agency: str) -> ev.WorkflowDossierEvent:
    """Workflow's event that ends a dossier without handling it: a rejection, or the
    processing stopped (national code 8) after the supplement deadline passed."""
    common: dict[str, Any] = {
        "procedure_code": "9.000001", "procedure_name": "Đăng ký tạm trú",
        "field": "residence", "agency_code": agency, "agency_name": "Công an",
        "actor": ev.Actor(kind="officer", id="o1"), "reason": "Không đủ điều kiện",
    }  # fmt: skip
    now = datetime.now(VIETNAM)
    if kind == "rejected":
        return ev.DossierRejected(
            **common, status=ev.DossierStatus.REJECTED, rejected_at=now, stage="processing"
        )
    return ev.DossierStopped(**common, status=ev.DossierStatus.STOPPED, stopped_at=now)


async def _paid_and_submitted(world: World, citizen: Citizen) -> tuple[str, str, str]:
    """A draft paid through the gateway and submitted: its id, code and payment id."""
    dossier_id = await world.draft(citizen)
    started = await world.start_payment(citizen, dossier_id)
    await world.pay(started["redirect_url"])
    await world.status_becomes(citizen, dossier_id, "paid")
    submitted = await world.submit(citizen, dossier_id)
    assert submitted.status_code == 200, submitted.text
    return dossier_id, submitted.json()["code"], started["payment_id"]


async def _owner_sees_refund_due(world: World, citizen: Citizen, dossier_id: str) -> None:
    async with world.intake.client() as client:
        seen = await client.get(f"/api/v1/dossiers/{dossier_id}", headers=citizen.auth)
    assert seen.status_code == 200, seen.text
    payment = seen.json()["payment"]
    assert payment["status"] == "refund_due", payment
    assert payment["receipt_no"], payment
    assert payment["receipt_url"], payment


@pytest.mark.parametrize("kind", ["rejected", "stopped"])
async def test_a_dossier_ended_unhandled_after_payment_is_flagged_for_refund(
    world: World, kind: str
) -> None:
    citizen = await add_citizen(world.intake)
    dossier_id, code, order = await _paid_and_submitted(world, citizen)

    await world.intake.publish(
        Envelope.wrap(_ending(kind, world.agency), source="workflow", dossier_code=code, sequence=1)
    )
    refund = await world.status_becomes(citizen, dossier_id, "refund_due")
    assert refund["receipt_no"]
    await _owner_sees_refund_due(world, citizen, dossier_id)
    # Money the bank took and the portal owes back: no mismatch, and listed to refund.
    code_, lines = await _reconcile(world)
    assert code_ == 0, lines
    assert [line.split("\t")[:2] for line in lines] == [["refund_due", order]], lines
    assert f"dossier: {code}" in lines[0], lines
    assert f"receipt: {refund['receipt_no']}" in lines[0], lines


async def test_a_dossier_withdrawn_after_payment_is_flagged_for_refund(world: World) -> None:
    citizen = await add_citizen(world.intake)
    dossier_id, code, order = await _paid_and_submitted(world, citizen)
    async with world.intake.client() as client:
        withdrawn = await client.post(
            f"/api/v1/dossiers/{code}/withdraw", json={"reason": "Không cần nữa"},
            headers=citizen.auth,
        )  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text
    # Flagged in the withdrawal's own transaction: no waiting.
    assert (await world.payment(citizen, dossier_id)).json()["status"] == "refund_due"
    await _owner_sees_refund_due(world, citizen, dossier_id)
    code_, lines = await _reconcile(world)
    assert code_ == 0, lines
    assert [line.split("\t")[:2] for line in lines] == [["refund_due", order]], lines


async def _reconcile(world: World) -> tuple[int, list[str]]:
    """`python -m intake reconcile-payments` for today, as the accountant runs it."""
    env = {
        **os.environ,
        "INTAKE_DATABASE_URL": world.intake.runtime.settings.database_url,
        "INTAKE_GATEWAY_URL": world.gateway.url,
        "INTAKE_GATEWAY_TMN_CODE": world.gateway.tmn_code,
        "INTAKE_GATEWAY_HASH_SECRET": world.gateway.hash_secret,
    }
    day = datetime.now(VIETNAM).date().isoformat()
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", "reconcile-payments", "--date", day,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(command.communicate(), timeout=60)
    assert command.returncode is not None, err.decode()
    return command.returncode, out.decode().splitlines()


async def test_the_reconciliation_finds_the_planted_mismatches(world: World) -> None:
    citizen = await add_citizen(world.intake)
    orders = []
    for _ in range(3):
        dossier_id = await world.draft(citizen)
        started = await world.start_payment(citizen, dossier_id)
        orders.append(started["payment_id"])
        if len(orders) == 2:
            # The bank takes the money, the notification is lost on the way.
            await world.control(drop_next=1)
        await world.pay(started["redirect_url"])
    fine, lost, altered = orders
    await eventually(lambda: _status(world, altered, "paid"), timeout=30, what="the third payment")
    async with world.intake.runtime.db.transaction() as session:
        await session.execute(
            payments.update().where(payments.c.id == uuid.UUID(altered)).values(amount_vnd=1)
        )

    returncode, lines = await _reconcile(world)
    assert returncode == 1, lines
    found = {line.split("\t")[1]: line.split("\t")[0] for line in lines}
    assert found == {lost: "status_differs", altered: "amount_differs"}, lines
    assert fine not in found


async def _status(world: World, order: str, status: str) -> bool:
    return bool((await world.row(order))["status"] == status)


async def test_attempts_are_limited_and_only_the_owner_pays(
    start_intake: StartIntake, gateway: GatewayServer
) -> None:
    intake = await start_intake(gateway_url=gateway.url, limit_payment_per_account_hour=2)
    agency = await add_test_procedure(intake, fee_vnd=FEE, fee_timing="before_submission")
    world = World(intake, gateway, agency)
    citizen, other = await add_citizen(intake), await add_citizen(intake)
    dossier_id = await world.draft(citizen)
    async with intake.client() as client:
        foreign = await client.post(f"/api/v1/dossiers/{dossier_id}/payment", headers=other.auth)
        unsigned = await client.post(f"/api/v1/dossiers/{dossier_id}/payment")
    assert foreign.status_code == 404
    assert unsigned.status_code == 401
    assert (await world.payment(other, dossier_id)).status_code == 404

    for _ in range(2):
        await world.start_payment(citizen, dossier_id)
    async with intake.client() as client:
        third = await client.post(f"/api/v1/dossiers/{dossier_id}/payment", headers=citizen.auth)
    assert third.status_code == 429
    assert "retry-after" in third.headers
