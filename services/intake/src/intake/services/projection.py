"""Workflow's changes to a dossier, kept as the citizen sees them: status, dates, the
supplement request, the result, and a timeline entry per event.

Events may arrive late, twice or out of order. The timeline takes every event once (by
id) at its own time; facts set once (received, resolved, the result) are kept from
whichever event brings them; the status and current values (due date, supplement request)
follow only an event newer, by the workflow's per-dossier `sequence`, than the last one
applied. So the dossier converges to the same state whatever the order. A dossier the
citizen withdrew stays withdrawn.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import attachments, dossiers
from intake.services.context import Context
from intake.services.payments import refund_if_paid
from intake.services.records import add_timeline, iso
from intake.services.sealing import update_code_digest
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.events import DossierStatus
from shared.localtime import local_moment

NOTES: dict[str, str] = {
    "dossier.received": "Hồ sơ đã được tiếp nhận.",
    "dossier.supplement_requested": "Cơ quan yêu cầu bổ sung, hoàn thiện hồ sơ.",
    "dossier.resumed": "Hồ sơ đã bổ sung được tiếp tục giải quyết.",
    "dossier.rejected": "Hồ sơ bị từ chối.",
    "dossier.assigned": "Hồ sơ đang được xử lý.",
    "dossier.submitted_for_approval": "Hồ sơ đang trình lãnh đạo phê duyệt.",
    "dossier.sent_back": "Hồ sơ được chuyển lại để xử lý tiếp.",
    "dossier.approved": "Hồ sơ đã được phê duyệt.",
    "dossier.awaiting_fee": "Hồ sơ đã được phê duyệt, chờ nộp phí, lệ phí.",
    "dossier.result_ready": "Đã có kết quả giải quyết.",
    "dossier.returned": "Đã trả kết quả.",
    "dossier.deadline_extended": "Cơ quan xin lỗi và hẹn lại ngày trả kết quả.",
    "dossier.stopped": "Hồ sơ bị dừng giải quyết.",
}


def _changes(data: ev.WorkflowDossierEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    """What this event says besides the status: facts that are set once (kept from
    whichever event brings them first), and current values (taken from the newest)."""
    once: dict[str, Any] = {}
    # The request stands until the next change: a newer event of another kind clears it.
    current: dict[str, Any] = {"supplement_request": None}
    if data.received_at is not None:
        once["received_at"] = data.received_at
    if data.due_at is not None:
        current["due_at"] = data.due_at
    match data:
        case ev.DossierSupplementRequested():
            current["supplement_request"] = {
                "items": [i.model_dump(mode="json") for i in data.items],
                "note": data.note,
                "requested_at": data.requested_at.isoformat(),
                "supplement_due_at": iso(data.supplement_due_at),
                "round": data.round,
            }
        case ev.DossierRejected():
            once["resolved_at"] = data.rejected_at
        case ev.DossierResultReady():
            once["resolved_at"] = data.resolved_at
            once["result"] = {
                "summary": data.result_summary,
                "judgement": data.judgement.value,
                "file": data.result_file.model_dump(mode="json") if data.result_file else None,
            }
        case ev.DossierDeadlineExtended():
            current["due_at"] = data.new_due_at
    return once, current


def timeline_note(envelope: Envelope, data: ev.WorkflowDossierEvent) -> str:
    """The timeline entry of a workflow event, as the citizen reads it."""
    note = NOTES[envelope.type]
    match data:
        case ev.DossierRejected() | ev.DossierStopped():
            return f"{note} Lý do: {data.reason}"
        case ev.DossierSupplementRequested():
            return f"{note} " + "; ".join(i.description for i in data.items)
        case ev.DossierAwaitingFee():
            amount = f"{data.amount_vnd:,}".replace(",", ".")
            return f"{note} Mời nộp {amount} đồng tại Bộ phận Một cửa khi nhận kết quả."
        case ev.DossierResumed() if data.previous_due_at not in (None, data.due_at):
            # The pause moved the appointment: the citizen sees the new date where they look.
            return f"{note} Ngày hẹn trả kết quả mới: {local_moment(data.due_at)}."
    return note


async def apply_workflow_event(
    _ctx: Context, session: AsyncSession, envelope: Envelope, data: ev.WorkflowDossierEvent
) -> None:
    """Keep the citizen's view of the dossier in step with one of workflow's events."""
    dossier = (
        await session.execute(
            select(dossiers.c.id, dossiers.c.status, dossiers.c.workflow_sequence)
            .where(dossiers.c.code == envelope.dossier_code)
            .with_for_update()
        )
    ).first()
    if dossier is None:
        # Only dossiers submitted here reach workflow; anything else is a bug upstream,
        # and raising keeps the event (retried, then parked) instead of dropping it.
        raise LookupError("event for a dossier intake does not know")
    note = timeline_note(envelope, data)
    await add_timeline(session, dossier.id, envelope.occurred_at, data.status, note, envelope.id)
    once, current = _changes(data)
    values: dict[str, Any] = {
        column: func.coalesce(dossiers.c[column], literal(value, dossiers.c[column].type))
        for column, value in once.items()
    }
    sequence = envelope.sequence or 0
    if sequence > dossier.workflow_sequence and dossier.status != DossierStatus.WITHDRAWN:
        values.update(
            status=data.status,
            workflow_sequence=sequence,
            updated_at=envelope.occurred_at,
            **current,
        )
    if values:
        await session.execute(dossiers.update().where(dossiers.c.id == dossier.id).values(**values))
    if isinstance(data, ev.DossierRejected | ev.DossierStopped):
        # Ended unhandled after its fee was paid online: the citizen is owed the fee back.
        await refund_if_paid(session, dossier.id)


REGISTERED = {
    "in_person": "Hồ sơ giấy đã được tiếp nhận tại Bộ phận Một cửa.",
    "post": "Hồ sơ giấy gửi qua dịch vụ bưu chính đã được tiếp nhận.",
}


async def apply_registration(
    ctx: Context, session: AsyncSession, envelope: Envelope, data: ev.DossierRegistered
) -> None:
    """A paper dossier registered at workflow's desk becomes a dossier here without an
    owner: tracking answers by its code, a supplement is made with its update code (only
    its digest is kept), and its timeline follows workflow's events like any other's."""
    digest = update_code_digest(ctx.settings.secret("jwt_secret"), data.update_code)
    added = await session.execute(
        insert(dossiers)
        .values(
            id=data.dossier_id, code=envelope.dossier_code, owner_id=None,
            procedure_code=data.procedure_code, agency_code=data.agency_code,
            case_code=data.case_code, applicant=data.applicant.model_dump(mode="json"),
            form=data.form, notify_via=[c.value for c in data.recipient.channels],
            result_delivery=data.result_delivery.model_dump(mode="json"),
            status=data.status.value, channel=data.channel,
            update_code_hash=digest,
            submitted_at=data.submitted_at, workflow_sequence=envelope.sequence or 0,
            created_at=data.submitted_at, updated_at=data.submitted_at,
        )
        .on_conflict_do_nothing()
        .returning(dossiers.c.id)
    )  # fmt: skip
    if added.first() is None:
        return  # projected already (the same dossier id or code)
    for file in data.attachments:
        await session.execute(
            attachments.insert().values(
                id=uuid.uuid4(), dossier_id=data.dossier_id,
                document_code=file.document_code or "", filename=file.filename or file.key,
                content_type=file.content_type, size=file.size, sha256=file.sha256,
                bucket=file.bucket, object_key=file.key, round=0,
            )
        )  # fmt: skip
    await add_timeline(
        session, data.dossier_id, data.submitted_at, data.status, REGISTERED[data.channel],
        envelope.id,
    )  # fmt: skip
