"""What workflow does with intake's events, each run inside the inbox transaction.

A dossier submitted becomes a case (once, whatever the redeliveries); the citizen's
supplement resumes the clock; a withdrawal closes the case. The catalogue tells workflow
each procedure's processing time and cut-off, for previews of dossiers not yet submitted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.events import DossierStatus as S
from shared.db.rows import upsert
from workflow.adapters.tables import agencies, cases, pauses, procedures
from workflow.domain import national
from workflow.domain.lifecycle import FINAL, Action, Recorded
from workflow.services import national_outbox
from workflow.services.calendars import engine_for
from workflow.services.changes import (
    CITIZEN,
    audit,
    change,
    open_pause,
    read_case,
    schedule_timers,
)
from workflow.services.context import Context


async def catalogue_published(
    _ctx: Context, session: AsyncSession, _envelope: Envelope, data: ev.CataloguePublished
) -> None:
    # What workflow keeps of an agency and of a procedure's terms: a field added to the
    # event (the fee's timing was one) is not a column here, and must not fail the whole
    # catalogue.
    for agency in data.agencies:
        await upsert(session, agencies, agency.model_dump())
    for procedure in data.procedures:
        await upsert(session, procedures, procedure.model_dump(mode="json"))


# Built once: the statements of every submitted dossier take their values as parameters.
_ADD_PROCEDURE = insert(procedures).on_conflict_do_nothing()
# The case as inserted comes back whole: the national record is made from it.
_ADD_CASE = insert(cases).on_conflict_do_nothing().returning(*cases.c)


async def dossier_submitted(
    ctx: Context, session: AsyncSession, envelope: Envelope, data: ev.DossierSubmitted
) -> None:
    # The dossier's own terms win over the catalogue's: they are those it was submitted
    # under, and the catalogue event may not have arrived yet.
    await session.execute(
        _ADD_PROCEDURE,
        {
            "code": data.procedure_code, "name": data.procedure_name, "field": data.field,
            "online_level": data.online_level, "processing_days": data.processing_days,
            "cutoff_time": data.cutoff_time, "fee_vnd": data.fee_vnd,
            "fee_timing": data.fee_timing, "documents": [],
            "supplement_days": data.supplement_days,
        },
    )  # fmt: skip
    inserted = await session.execute(
        _ADD_CASE,
        {
            "id": data.dossier_id, "code": envelope.dossier_code, "status": S.SUBMITTED.value,
            "agency_code": data.agency_code, "agency_name": data.agency_name,
            "procedure_code": data.procedure_code, "procedure_name": data.procedure_name,
            "field": data.field, "online_level": data.online_level,
            "processing_days": data.processing_days, "cutoff_time": data.cutoff_time,
            "fee_vnd": data.fee_vnd, "fee_timing": data.fee_timing,
            "supplement_days": data.supplement_days,
            "applicant": data.applicant.model_dump(mode="json"),
            "applicant_name": data.applicant.full_name,
            "form": data.form,
            "attachments": [a.model_dump(mode="json") for a in data.attachments],
            "result_delivery": data.result_delivery.model_dump(mode="json"),
            "recipient": data.recipient.model_dump(mode="json"),
            "submitted_at": data.submitted_at, "priority_at": data.submitted_at,
            "updated_at": data.submitted_at,
        },
    )  # fmt: skip
    row = inserted.mappings().first()
    if row is not None:
        case = dict(row)
        await audit(
            session, case["id"], at=data.submitted_at, actor=CITIZEN, action=Recorded.SUBMIT,
            from_status=None, to_status=S.SUBMITTED, note="Công dân nộp hồ sơ trực tuyến.",
        )  # fmt: skip
        # Registered (national code 1), in the transaction that opens the case, from the
        # case as inserted and the one step just recorded (the citizen's: no officer).
        submitted = national.Step(
            at=data.submitted_at, action=Recorded.SUBMIT.value, from_status=None,
            to_status=S.SUBMITTED.value, officer_name=None, officer_role=None,
        )  # fmt: skip
        await national_outbox.queue(
            ctx.outbox, session, case, data.submitted_at, opened=[submitted]
        )


async def dossier_supplemented(
    ctx: Context, session: AsyncSession, envelope: Envelope, data: ev.DossierSupplemented
) -> None:
    case = await read_case(session, envelope.dossier_code or "", lock=True)
    if case["status"] != S.SUPPLEMENT_REQUESTED:
        # The case moved on meanwhile (rejected, say): keep the citizen's files on
        # record, change nothing else.
        await _note(session, case, Action.SUPPLEMENT, "Công dân bổ sung sau khi hồ sơ đã xử lý.")
        return
    pause = await open_pause(session, case["id"])
    assert pause is not None, "a case waiting for a supplement has an open pause"
    engine = await engine_for(session, case["agency_code"])
    resumed_at = max(data.supplemented_at, pause["paused_at"])
    values: dict[str, Any] = {
        "attachments": case["attachments"] + [a.model_dump(mode="json") for a in data.attachments],
        "resume_status": None,
    }
    # Only working time inside the counted period stood still: a dossier received after
    # the cut-off and sent back at once has lost nothing of its processing time.
    counted_from = case["counted_from"] if pause["clock_was_running"] else None
    paused = engine.paused_working_time(pause["paused_at"], resumed_at, counted_from=counted_from)
    previous_due_at = case["due_at"]
    if pause["clock_was_running"]:
        values["due_at"] = engine.add_working_time(case["due_at"], paused)
        # The clock stood still for the due date without an apology's extension too.
        values["original_due_at"] = engine.add_working_time(case["original_due_at"], paused)
        values["deadline_version"] = case["deadline_version"] + 1
    await session.execute(
        pauses.update()
        .where(pauses.c.case_id == case["id"], pauses.c.round == pause["round"])
        .values(resumed_at=resumed_at, paused_seconds=int(paused.total_seconds()))
    )
    case = await change(
        ctx.outbox, session, case, Action.SUPPLEMENT, CITIZEN,
        note="Công dân đã bổ sung hồ sơ.",
        values=values,
        resume_to=case["resume_status"],
        emit=lambda _case, f: [
            ev.DossierResumed(
                **f, round=pause["round"], resumed_at=resumed_at,
                paused_working_hours=paused.total_seconds() / 3600,
                previous_due_at=previous_due_at,
            )
        ],
        now=resumed_at,
    )  # fmt: skip
    if pause["clock_was_running"]:
        await schedule_timers(session, case, engine)


async def dossier_withdrawn(
    ctx: Context, session: AsyncSession, envelope: Envelope, data: ev.DossierWithdrawn
) -> None:
    case = await read_case(session, envelope.dossier_code or "", lock=True)
    if case["status"] in FINAL:
        await _note(session, case, Action.WITHDRAW, "Công dân xin rút hồ sơ đã kết thúc.")
        return
    # No workflow event: intake emitted dossier.withdrawn, which every consumer has.
    await change(
        ctx.outbox, session, case, Action.WITHDRAW, CITIZEN,
        note="Công dân rút hồ sơ.", now=data.withdrawn_at,
    )  # fmt: skip


async def payment_completed(
    ctx: Context, session: AsyncSession, envelope: Envelope, data: ev.PaymentCompleted
) -> None:
    """A fee paid online (intake's): on record, so that the approval does not wait for it.
    A fee paid at the desk is workflow's own event, recorded when it was emitted."""
    if envelope.source == ctx.outbox.source or envelope.dossier_code is None:
        # Workflow's own, or a draft's (paid before submission: the dossier's fee timing
        # says so when it arrives).
        return
    case = await read_case(session, envelope.dossier_code or "", lock=True)
    await _note(session, case, Recorded.PAYMENT, f"Đã nộp lệ phí {data.amount_vnd:,} đồng.")
    if case["fee_paid_at"] is None:
        await session.execute(
            cases.update().where(cases.c.id == case["id"]).values(fee_paid_at=data.paid_at)
        )


async def _note(session: AsyncSession, case: Any, action: Action | Recorded, note: str) -> None:
    """An audit entry of the citizen's that changes nothing."""
    await audit(
        session, case["id"], at=datetime.now(UTC), actor=CITIZEN, action=action,
        from_status=case["status"], to_status=case["status"], note=note,
    )  # fmt: skip
