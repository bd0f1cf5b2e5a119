"""A paper dossier registered at workflow's desk (`dossier.registered`), projected here as a
dossier without an owner: tracking by its code, its timeline, a supplement by its update
code, and no second copy when the event comes again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from intake.adapters.tables import attachments, dossiers, timeline
from services.intake.tests.integration.support import (
    PDF,
    PROCEDURE,
    add_citizen,
    add_test_procedure,
    file_part,
    outbox_events,
)
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.codes import issued_code, new_update_code
from shared.contracts.events import VIETNAM
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

RECEIVER = ev.Actor(kind="officer", id=str(uuid.uuid4()), name="Hoàng Thị Lan", role="receiver")


def _facts(agency_code: str, status: str) -> dict[str, Any]:
    return {
        "procedure_code": PROCEDURE, "procedure_name": "Đăng ký tạm trú (thử nghiệm)",
        "field": "residence", "agency_code": agency_code, "agency_name": "Công an tỉnh",
        "status": ev.DossierStatus(status),
    }  # fmt: skip


def registered(agency_code: str, update_code: str, nth: int = 1) -> Envelope:
    now = datetime.now(UTC)
    code = issued_code("desk", agency_code, now.astimezone(VIETNAM).date(), nth)
    dossier_id = uuid.uuid4()
    data = ev.DossierRegistered(
        **_facts(agency_code, "submitted"), dossier_id=dossier_id, online_level="full",
        submitted_at=now,
        applicant=ev.Applicant(kind="citizen", full_name="Hà Văn Tùng", id_number="006090001234"),
        form={"ho_ten": "Hà Văn Tùng"},
        attachments=[ev.FileRef(bucket="dossier-attachments", key=f"{dossier_id}/{uuid.uuid4()}",
                                size=len(PDF), content_type="application/pdf", sha256="0" * 64,
                                document_code="TP1", filename="to-khai.pdf")],
        result_delivery=ev.ResultDelivery(method="in_person"),
        recipient=ev.Recipient(full_name="Hà Văn Tùng", phone="0987654321",
                               channels=[ev.Channel.SMS]),
        update_code=update_code, processing_days=3, channel="in_person", registered_by=RECEIVER,
    )  # fmt: skip
    return Envelope.wrap(data, source="workflow", dossier_code=code, sequence=1, occurred_at=now)


def later(of: Envelope, data: ev.EventData, sequence: int) -> Envelope:
    return Envelope.wrap(data, source="workflow", dossier_code=of.dossier_code, sequence=sequence)


async def _tracked(service: ServiceUnderTest, code: str, status: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient(base_url=service.url) as anonymous:
        answer = await anonymous.get(f"/api/v1/tracking/{code}")
    if answer.status_code != 200 or answer.json()["status"] != status:
        return None
    body: dict[str, Any] = answer.json()
    return body


async def test_a_desk_dossier_is_tracked_and_supplemented_without_an_account(
    intake: ServiceUnderTest,
) -> None:
    agency = await add_test_procedure(intake)
    update_code = new_update_code()
    envelope = registered(agency, update_code)
    code = envelope.dossier_code or ""
    data = envelope.payload_as(ev.DossierRegistered)
    await intake.publish(envelope)
    public = await eventually(
        lambda: _tracked(intake, code, "submitted"), timeout=15, what="the desk dossier"
    )
    assert public["submitted_at"]
    assert public["procedure_name"]
    assert "Hà Văn Tùng" not in str(public)
    assert "0987654321" not in str(public)

    # Delivered again (a redelivery, or workflow's relay sending twice): one dossier.
    again = Envelope.wrap(
        data, source="workflow", dossier_code=code, sequence=1, event_id=uuid.uuid4()
    )
    await intake.publish(envelope)
    await intake.publish(again)

    due = datetime.now(UTC) + timedelta(days=3)
    received = ev.DossierReceived(
        **_facts(agency, "received"), actor=RECEIVER, received_at=datetime.now(UTC), due_at=due,
        channel="direct", counted_from=datetime.now(UTC), rule_set="118/2025",
    )  # fmt: skip
    asked = ev.DossierSupplementRequested(
        **_facts(agency, "supplement_requested"), actor=RECEIVER, received_at=received.received_at,
        due_at=due, items=[ev.SupplementItem(document_code="TP1", description="Tờ khai thiếu chữ ký")],
        requested_at=datetime.now(UTC),
    )  # fmt: skip
    await intake.publish(later(envelope, received, 2))
    await intake.publish(later(envelope, asked, 3))
    await eventually(
        lambda: _tracked(intake, code, "supplement_requested"), timeout=15, what="the request"
    )
    async with intake.runtime.db.transaction() as session:
        rows = (
            await session.execute(select(dossiers).where(dossiers.c.code == code))
        ).mappings().all()  # fmt: skip
        files = await session.scalar(
            select(func.count())
            .select_from(attachments)
            .where(attachments.c.dossier_id == data.dossier_id)
        )
    assert len(rows) == 1
    assert files == 1
    (row,) = rows
    assert row["owner_id"] is None
    assert row["channel"] == "in_person"
    assert row["update_code_hash"]
    assert update_code not in row["update_code_hash"]

    # No account opens it; its update code does.
    citizen = await add_citizen(intake)
    url = f"/api/v1/dossiers/{code}/supplement"
    parts: dict[str, Any] = {"data": {"document_code": "TP1"}, "files": [file_part(PDF)]}
    async with httpx.AsyncClient(base_url=intake.url) as anonymous:
        as_citizen = await anonymous.post(url, headers=citizen.auth, **parts)
        wrong = await anonymous.post(url, headers={"X-Update-Code": "AAAAAAAA"}, **parts)
        right = await anonymous.post(url, headers={"X-Update-Code": update_code}, **parts)
        owned = await anonymous.get("/api/v1/dossiers", headers=citizen.auth)
    assert (as_citizen.status_code, wrong.status_code) == (404, 404)
    assert right.status_code == 200, right.text
    assert code not in owned.text
    (supplemented,) = await outbox_events(intake, "dossier.supplemented")
    assert supplemented.dossier_code == code
    assert supplemented.payload_as(ev.DossierSupplemented).dossier_id == data.dossier_id

    # The timeline: taken at the desk, received, asked to supplement, supplemented.
    notes = await _timeline(intake, data.dossier_id)
    assert notes[0] == "Hồ sơ giấy đã được tiếp nhận tại Bộ phận Một cửa."
    assert notes[1:3] == [
        "Hồ sơ đã được tiếp nhận.",
        "Cơ quan yêu cầu bổ sung, hoàn thiện hồ sơ. Tờ khai thiếu chữ ký",
    ]
    assert notes[3] == "Công dân đã bổ sung hồ sơ."


async def _timeline(service: ServiceUnderTest, dossier_id: uuid.UUID) -> list[str]:
    async with service.runtime.db.transaction() as session:
        return list(
            (
                await session.scalars(
                    select(timeline.c.note)
                    .where(timeline.c.dossier_id == dossier_id)
                    .order_by(timeline.c.at, timeline.c.id)
                )
            ).all()
        )
