"""Building blocks of workflow's integration tests: intake's events as intake would publish
them, officers' tokens, and waiting for a case to reach a state."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.messaging.tables import outbox
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest
from workflow.adapters.tables import cases

BAC_KAN = "G01.306.000.000"
SOC_TRANG = "G01.394.000.000"
AGENCY_NAMES = {BAC_KAN: "Công an tỉnh Bắc Kạn", SOC_TRANG: "Công an tỉnh Sóc Trăng"}
# Demo officers (workflow/demo_data/officers.json), one per role and province.
OFFICERS = {
    (BAC_KAN, "receiver"): "bk.tiepnhan",
    (BAC_KAN, "processor"): "bk.xuly",
    (BAC_KAN, "approver"): "bk.lanhdao",
    (BAC_KAN, "admin"): "bk.quantri",
    (SOC_TRANG, "receiver"): "st.tiepnhan",
    (SOC_TRANG, "processor"): "st.xuly",
    (SOC_TRANG, "approver"): "st.lanhdao",
    (SOC_TRANG, "admin"): "st.quantri",
}
PASSWORD = "demo-officer-2026"
PDF = b"%PDF-1.7\n" + b"0" * 4096 + b"\nstartxref\n9\n%%EOF\n"
_numbers = itertools.count(1)


def submitted(
    agency_code: str = BAC_KAN,
    *,
    processing_days: int = 3,
    code: str | None = None,
    supplement_days: int | None = None,
    applicant: ev.Applicant | None = None,
    fee_vnd: int = 0,
    fee_timing: ev.FeeTiming = "on_result",
) -> Envelope:
    """A `dossier.submitted` as intake publishes it (free of charge unless `fee_vnd`)."""
    number = next(_numbers)
    code = code or f"{agency_code}-261123-{number:04d}-{uuid.uuid4().hex[:4]}"
    now = datetime.now(UTC)
    data = ev.DossierSubmitted(
        procedure_code="1.004194", procedure_name="Đăng ký tạm trú", field="residence",
        agency_code=agency_code, agency_name=AGENCY_NAMES[agency_code],
        status=ev.DossierStatus.SUBMITTED, dossier_id=uuid.uuid4(), online_level="full",
        submitted_at=now,
        applicant=applicant or ev.Applicant(kind="citizen", full_name="Nguyễn Thị Bích",
                                            id_number="001190012345"),
        form={"ho_ten": "Nguyễn Thị Bích", "dia_chi": "Tổ 5, phường Đức Xuân"},
        attachments=[
            ev.FileRef(bucket="dossier-attachments", key=f"{uuid.uuid4()}/{uuid.uuid4()}",
                       size=4200, content_type="application/pdf", sha256="0" * 64,
                       document_code="TP1", filename="to-khai-CT01.pdf"),
        ],
        result_delivery=ev.ResultDelivery(method="in_person"),
        recipient=ev.Recipient(full_name="Nguyễn Thị Bích", phone="0912345678",
                               channels=[ev.Channel.SMS]),
        update_code="UPD12345", fee_vnd=fee_vnd, fee_timing=fee_timing,
        processing_days=processing_days,
        supplement_days=supplement_days,
    )  # fmt: skip
    return Envelope.wrap(data, source="intake", dossier_code=code, sequence=1, occurred_at=now)


def catalogue(supplement_days: int | None = None) -> Envelope:
    """intake's `catalogue.published`, reduced to the demo provinces and one procedure."""
    data = ev.CataloguePublished(
        catalogue_version="test",
        agencies=[ev.AgencyRef(code=code, name=name, level="province")
                  for code, name in AGENCY_NAMES.items()],
        procedures=[ev.ProcedureTerms(
            code="1.004194", name="Đăng ký tạm trú", field="residence", online_level="full",
            processing_days=3, fee_vnd=15000, supplement_days=supplement_days,
            documents=[ev.DocumentName(code="TP1", name="Tờ khai CT01", required=True)],
        )],
    )  # fmt: skip
    return Envelope.wrap(data, source="intake")


def supplemented(of: Envelope, at: datetime | None = None) -> Envelope:
    first = of.payload_as(ev.DossierSubmitted)
    at = at or datetime.now(UTC)
    data = ev.DossierSupplemented(
        procedure_code=first.procedure_code, procedure_name=first.procedure_name,
        field=first.field, agency_code=first.agency_code, agency_name=first.agency_name,
        status=ev.DossierStatus.SUBMITTED, dossier_id=first.dossier_id,
        attachments=[ev.FileRef(bucket="dossier-attachments", key=f"{first.dossier_id}/s",
                                size=10, content_type="application/pdf", sha256="1" * 64,
                                document_code="TP2")],
        supplemented_at=at,
    )  # fmt: skip
    return Envelope.wrap(data, source="intake", dossier_code=of.dossier_code, sequence=2)


def withdrawn(of: Envelope) -> Envelope:
    first = of.payload_as(ev.DossierSubmitted)
    data = ev.DossierWithdrawn(
        procedure_code=first.procedure_code, procedure_name=first.procedure_name,
        field=first.field, agency_code=first.agency_code, agency_name=first.agency_name,
        status=ev.DossierStatus.WITHDRAWN, dossier_id=first.dossier_id,
        reason="Không có nhu cầu nữa", withdrawn_at=datetime.now(UTC),
    )  # fmt: skip
    return Envelope.wrap(data, source="intake", dossier_code=of.dossier_code, sequence=3)


async def token(service: ServiceUnderTest, agency_code: str, role: str) -> dict[str, str]:
    async with service.client() as client:
        answer = await client.post(
            "/api/v1/auth/token",
            data={"username": OFFICERS[(agency_code, role)], "password": PASSWORD},
        )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


class Desk:
    """An agency's officers, signed in once."""

    def __init__(self, service: ServiceUnderTest, agency_code: str = BAC_KAN) -> None:
        self.service = service
        self.agency_code = agency_code
        self.auth: dict[str, dict[str, str]] = {}

    async def sign_in(self) -> Desk:
        for role in ("receiver", "processor", "approver", "admin"):
            self.auth[role] = await token(self.service, self.agency_code, role)
        return self

    async def act(
        self,
        role: str,
        code: str,
        action: str,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        async with self.service.client() as client:
            return await client.post(
                f"/api/v1/dossiers/{code}/{action}", headers={**self.auth[role], **(headers or {})},
                **kwargs,
            )  # fmt: skip

    async def get(self, role: str, path: str, **kwargs: Any) -> Any:
        async with self.service.client() as client:
            return await client.get(path, headers=self.auth[role], **kwargs)


async def case_status(service: ServiceUnderTest, code: str) -> str | None:
    async with service.runtime.db.transaction() as session:
        return await session.scalar(select(cases.c.status).where(cases.c.code == code))


async def arrived(service: ServiceUnderTest, envelope: Envelope, status: str = "submitted") -> None:
    """Publish the event and wait until the case shows `status`."""
    await service.publish(envelope)

    async def there() -> bool:
        return await case_status(service, envelope.dossier_code or "") == status

    await eventually(there, timeout=15, what=f"{envelope.dossier_code} to be {status}")


async def outgoing(service: ServiceUnderTest, code: str) -> list[Envelope]:
    """Every event workflow wrote about the dossier, in order."""
    async with service.runtime.db.transaction() as session:
        rows = await session.execute(
            select(outbox.c.envelope).where(outbox.c.dossier_code == code).order_by(outbox.c.id)
        )
        return [Envelope.model_validate(r) for r in rows.scalars()]


async def emitted(service: ServiceUnderTest, code: str) -> list[Envelope]:
    """The case's own events, numbered in order (not the national portal's sync events)."""
    return [e for e in await outgoing(service, code) if e.sequence is not None]


async def sync_events(service: ServiceUnderTest, code: str) -> list[Envelope]:
    """`dossier.sync_queued` and `dossier.synced` of the dossier, in order."""
    return [e for e in await outgoing(service, code) if e.sequence is None]
