"""The one-stop desk: a receiver registers a paper dossier brought in person or sent by
post, for an applicant who may have no account.

Workflow answers the receiver at once with the code and the update code to print on the
receipt, so it issues the code itself, from the desk's range (shared/contracts/codes.py),
and opens the case in the transaction that puts `dossier.registered` in the outbox; from
there the dossier flows as an online one: intake projects it (tracking, supplement by
update code), notify sends the receipt to the contact given, stats counts it.

The `dossier` part (JSON) comes first and is checked, with the receiver's role, unit and
the procedure, before a byte of the scans is stored; the scans then stream to the
attachments bucket as intake's uploads do, and anything refused removes what the request
stored. The same `Idempotency-Key` again answers the first registration and keeps no
second copy of the files: the key is claimed in the transaction that opens the case.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import events as ev
from shared.contracts.codes import SequenceExhausted, issued_code, new_update_code
from shared.contracts.events import VIETNAM
from shared.contracts.events import DossierStatus as S
from shared.db.idempotency import Answer, Retry
from shared.errors import (
    Forbidden,
    Invalid,
    TooMany,
    field_error,
    invalid_field,
    invalid_fields,
)
from shared.multipart import MultipartStream, Part
from shared.storage import StoredObject
from shared.storage.files import filename_problem, kinds, put_file, remove_stored, safe_filename
from shared.text import json_problems
from workflow.adapters.tables import agencies, cases, desk_sequences, procedures
from workflow.domain import contacts
from workflow.domain.lifecycle import Recorded, Role
from workflow.services import actions, national_outbox
from workflow.services.changes import Case, Officer, announce, audit, read_case
from workflow.services.context import ATTACHMENTS_BUCKET, Context

log = logging.getLogger(__name__)

# Scans of paper documents.
SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png")
# Multipart framing around one part: boundary, headers, a `document_code` field.
FRAMING_BYTES = 64 * 1024
CHANNEL_NOTES = {
    "in_person": "Cán bộ tiếp nhận hồ sơ giấy nộp trực tiếp tại Bộ phận Một cửa.",
    "post": "Cán bộ tiếp nhận hồ sơ giấy gửi qua dịch vụ bưu chính.",
}


class DeskDossier(BaseModel):
    """The `dossier` part: what the receiver typed from the paper dossier."""

    model_config = ConfigDict(extra="forbid")

    procedure_code: str = Field(min_length=1, max_length=50)
    agency_code: str | None = Field(
        None, max_length=50, description="The receiving unit; omitted: the receiver's own."
    )
    case_code: str | None = Field(None, max_length=100)
    applicant: ev.Applicant
    form: dict[str, Any] = Field(default_factory=dict)
    channel: Literal["in_person", "post"]
    notify_via: list[ev.Channel] = Field(default_factory=list, max_length=2)
    phone: str | None = Field(None, max_length=20)
    email: str | None = Field(None, max_length=254)
    result_delivery: ev.ResultDelivery = ev.ResultDelivery(method="in_person")
    receive_now: bool = Field(
        False, description="Received at once (the clock starts); otherwise by `receive` later."
    )
    note: str | None = Field(None, max_length=2000)

    _check_phone = field_validator("phone")(contacts.phone)
    _check_email = field_validator("email")(contacts.email)

    @model_validator(mode="after")
    def _reachable(self) -> DeskDossier:
        if ev.Channel.SMS in self.notify_via and not self.phone:
            raise ValueError("Nhận thông báo qua SMS cần số điện thoại của người nộp.")
        if ev.Channel.EMAIL in self.notify_via and not self.email:
            raise ValueError("Nhận thông báo qua email cần địa chỉ email của người nộp.")
        return self


@dataclass(frozen=True)
class Scan:
    document_code: str
    filename: str
    stored: StoredObject


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def read_dossier(text: str) -> DeskDossier:
    """The `dossier` part, refused in words if it is not JSON, holds text the database
    cannot store (the request guard does not read multipart bodies), or is not valid."""
    try:
        # NaN and Infinity are no JSON a database stores.
        document = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        raise invalid_field("dossier", "Nội dung JSON không hợp lệ.") from None
    if found := list(json_problems(document)):
        raise Invalid(
            "Dữ liệu gửi lên chưa hợp lệ, vui lòng kiểm tra các trường được đánh dấu.",
            errors=[field_error(f"dossier.{path}" if path != "body" else "dossier", why)
                    for path, why in found],
        )  # fmt: skip
    try:
        return DeskDossier.model_validate(document)
    except ValidationError as exc:
        errors = [{**e, "loc": ("dossier", *e.get("loc", ()))} for e in exc.errors()]
        raise invalid_fields(errors) from None


async def register(
    ctx: Context, officer: Officer, body: MultipartStream, key: str | None
) -> dict[str, Any]:
    """Register the paper dossier of the multipart `body`: its code, update code, status."""
    if not officer.holds(Role.RECEIVER):
        raise Forbidden("Chỉ cán bộ tiếp nhận mới tiếp nhận hồ sơ tại Bộ phận Một cửa.")
    limits = ctx.settings
    max_body = limits.max_desk_dossier_bytes + FRAMING_BYTES * 4
    body.refuse_if_declared_over(max_body)
    parts = body.parts(max_body=max_body)
    first = await anext(parts, None)
    if first is None or first.name != "dossier" or first.filename is not None:
        raise Invalid(
            "Phần đầu tiên của yêu cầu phải là `dossier` (JSON).",
            errors=[field_error("dossier", "Vui lòng gửi thông tin hồ sơ trước các tệp.")],
        )
    dossier = read_dossier(await first.text())
    agency_code = dossier.agency_code or officer.agency_code
    if agency_code != officer.agency_code:
        raise Forbidden("Cán bộ chỉ tiếp nhận hồ sơ cho đơn vị của mình.")
    agency, procedure = await _terms(ctx, agency_code, dossier.procedure_code)
    documents = {d["code"] for d in procedure["documents"]}
    dossier_id = uuid.uuid4()
    scans: list[Scan] = []
    replayed = False
    try:
        room = limits.max_desk_dossier_bytes
        document_code: str | None = None
        async for part in parts:
            if part.filename is None:
                if part.name == "document_code":
                    document_code = (await part.text()).strip()
                continue
            if part.name != "file":
                continue
            if (problem := filename_problem(part.filename)) is not None:
                raise Invalid(problem, errors=[field_error("file", problem)])
            if not document_code or (documents and document_code not in documents):
                raise Invalid(
                    "Thành phần hồ sơ không đúng.",
                    errors=[
                        field_error(
                            "document_code", "Vui lòng chọn thành phần hồ sơ của thủ tục trước tệp."
                        )
                    ],
                )
            stored = await _store(ctx, part, dossier_id, min(limits.max_desk_file_bytes, room))
            room -= stored.size
            scans.append(Scan(document_code, safe_filename(part.filename), stored))
            document_code = None
        fingerprint = Retry.of(
            key, "counter", dossier.model_dump(mode="json"),
            [(s.document_code, s.stored.sha256, s.stored.size) for s in scans],
        )  # fmt: skip
        async with ctx.db.transaction() as session:
            ran = False

            async def run() -> Answer:
                nonlocal ran
                ran = True
                return await _open(
                    ctx, session, officer, dossier, agency, procedure, dossier_id, scans
                )

            answer = await ctx.idempotency.once(session, str(officer.id), fingerprint, run)
        replayed = not ran
    except BaseException:
        await _discard(ctx, scans)
        raise
    if replayed:
        # The first request with this key registered the dossier with its own copy.
        await _discard(ctx, scans)
    return answer.body


async def _terms(ctx: Context, agency_code: str, procedure_code: str) -> tuple[Any, Any]:
    async with ctx.db.transaction() as session:
        agency = (
            (await session.execute(select(agencies).where(agencies.c.code == agency_code)))
            .mappings()
            .first()
        )
        procedure = (
            (await session.execute(select(procedures).where(procedures.c.code == procedure_code)))
            .mappings()
            .first()
        )
    errors = []
    if procedure is None:
        errors.append(field_error("dossier.procedure_code", "Thủ tục hành chính không tồn tại."))
    if agency is None:
        errors.append(field_error("dossier.agency_code", "Đơn vị chưa có trong danh mục."))
    if errors:
        raise Invalid("Thủ tục hoặc đơn vị tiếp nhận không phù hợp.", errors=errors)
    return agency, procedure


async def _store(ctx: Context, part: Part, dossier_id: uuid.UUID, limit: int) -> StoredObject:
    # The key is random: it never carries the file's name or anything the caller chose.
    return await put_file(
        ctx.store, ATTACHMENTS_BUCKET, f"{dossier_id}/{uuid.uuid4()}", part.chunks(),
        accepted=SCAN_TYPES, max_size=limit, refusal=f"Tệp quét phải là {kinds(SCAN_TYPES)}.",
    )  # fmt: skip


async def _discard(ctx: Context, scans: list[Scan]) -> None:
    await remove_stored(ctx.store, (scan.stored for scan in scans))


_NEXT_NUMBER = (
    insert(desk_sequences)
    .on_conflict_do_update(
        index_elements=[desk_sequences.c.agency_code, desk_sequences.c.day],
        set_={"last": desk_sequences.c.last + 1},
    )
    .returning(desk_sequences.c.last)
)


async def _next_code(session: AsyncSession, agency_code: str, now: datetime) -> str:
    """The desk's next code of the agency's day. The counter's row stays locked until
    the registration commits: a receiver's desk is not a crowd, and a registration that
    fails gives its number back instead of leaving a gap."""
    day = now.astimezone(VIETNAM).date()
    nth = await session.scalar(_NEXT_NUMBER, {"agency_code": agency_code, "day": day, "last": 1})
    try:
        return issued_code("desk", agency_code, day, int(nth or 0))
    except SequenceExhausted:
        raise TooMany(
            "Đơn vị đã tiếp nhận hết số hồ sơ tại Bộ phận Một cửa của ngày hôm nay.",
            retry_after=3600,
        ) from None


async def _open(
    ctx: Context,
    session: AsyncSession,
    officer: Officer,
    dossier: DeskDossier,
    agency: Any,
    procedure: Any,
    dossier_id: uuid.UUID,
    scans: list[Scan],
) -> Answer:
    """The case, its audit entry, `dossier.registered` (and, received at once,
    `dossier.received`), in the caller's transaction."""
    now = datetime.now(UTC)
    code = await _next_code(session, agency["code"], now)
    update_code = new_update_code()
    recipient = ev.Recipient(
        full_name=dossier.applicant.full_name, phone=dossier.phone, email=dossier.email,
        channels=dossier.notify_via,
    )  # fmt: skip
    attachments = [
        ev.FileRef(
            bucket=s.stored.bucket, key=s.stored.key, size=s.stored.size,
            content_type=s.stored.content_type, sha256=s.stored.sha256,
            document_code=s.document_code, filename=s.filename,
        )
        for s in scans
    ]  # fmt: skip
    await session.execute(
        insert(cases).values(
            id=dossier_id, code=code, status=S.SUBMITTED.value, channel=dossier.channel,
            agency_code=agency["code"], agency_name=agency["name"],
            procedure_code=procedure["code"], procedure_name=procedure["name"],
            field=procedure["field"], online_level=procedure["online_level"],
            processing_days=procedure["processing_days"], cutoff_time=procedure["cutoff_time"],
            # A paper dossier's fee is paid at the desk, whatever the procedure's online
            # timing: the citizen brings it when collecting the result.
            fee_vnd=procedure["fee_vnd"], fee_timing="on_result",
            supplement_days=procedure["supplement_days"],
            applicant=dossier.applicant.model_dump(mode="json"),
            applicant_name=dossier.applicant.full_name, form=dossier.form,
            attachments=[a.model_dump(mode="json") for a in attachments],
            result_delivery=dossier.result_delivery.model_dump(mode="json"),
            recipient=recipient.model_dump(mode="json"),
            submitted_at=now, priority_at=now, updated_at=now,
        )
    )  # fmt: skip
    note = dossier.note or CHANNEL_NOTES[dossier.channel]
    await audit(
        session, dossier_id, at=now, actor=officer.actor, action=Recorded.REGISTER,
        from_status=None, to_status=S.SUBMITTED, note=note,
    )  # fmt: skip
    case: Case = await read_case(session, code, lock=True)
    registered = ev.DossierRegistered(
        procedure_code=procedure["code"], procedure_name=procedure["name"],
        field=procedure["field"], agency_code=agency["code"], agency_name=agency["name"],
        status=S.SUBMITTED, dossier_id=dossier_id, case_code=dossier.case_code,
        online_level=procedure["online_level"], submitted_at=now, applicant=dossier.applicant,
        form=dossier.form, attachments=attachments, result_delivery=dossier.result_delivery,
        recipient=recipient, update_code=update_code, fee_vnd=procedure["fee_vnd"],
        fee_timing="on_result",
        processing_days=procedure["processing_days"], cutoff_time=procedure["cutoff_time"],
        supplement_days=procedure["supplement_days"], channel=dossier.channel,
        registered_by=officer.actor,
    )  # fmt: skip
    sequence = await announce(ctx.outbox, session, case, [registered], now)
    await session.execute(cases.update().where(cases.c.id == dossier_id).values(sequence=sequence))
    case = {**case, "sequence": sequence}
    # Registered (national code 1), in the transaction that opens the case.
    await national_outbox.queue(ctx.outbox, session, case, now)
    if dossier.receive_now:
        case = await actions.received(ctx, session, case, officer, None, now)
    log.info(
        "dossier registered at the desk",
        extra={"procedure_code": procedure["code"], "agency_code": agency["code"]},
    )
    return Answer(
        201,
        {
            "code": code,
            "update_code": update_code,
            "status": case["status"],
            "channel": dossier.channel,
            "registered_at": now,
            "received_at": case["received_at"],
            "due_at": case["due_at"],
            # The receipt (giấy tiếp nhận và hẹn trả kết quả), once received.
            "receipt_url": f"/api/v1/dossiers/{code}/forms/receipt.pdf"
            if case["received_at"]
            else None,
        },
    )
