"""What workflow does with intake's events, each run inside the inbox transaction.

A dossier submitted becomes a case (once, whatever the redeliveries); the citizen's
supplement resumes the clock; a withdrawal closes the case. The catalogue tells workflow
each procedure's processing time and cut-off, for previews of dossiers not yet submitted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.events import DossierStatus as S
from shared.db.rows import upsert
from shared.db.sql import Sql, json_text
from shared.observability.context import new_correlation_id
from workflow.adapters.tables import agencies, cases, pauses, procedures
from workflow.domain import national
from workflow.domain.lifecycle import FINAL, Action, Recorded
from workflow.services import national_outbox
from workflow.services.calendars import engine_for
from workflow.services.changes import (
    CITIZEN,
    audit,
    audit_all,
    change,
    entry,
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


# Built once: the statements of every run of submitted dossiers take their values as
# parameters. The dossier's own terms win over the catalogue's: they are those it was
# submitted under, and the catalogue event may not have arrived yet.
_ADD_PROCEDURE = Sql(
    "INSERT INTO procedures (code, name, field, online_level, processing_days, cutoff_time,"
    " fee_vnd, fee_timing, documents, supplement_days)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '[]', $9) ON CONFLICT DO NOTHING"
)
# The cases of a run in one statement, in the run's order (of two with the same code the
# first wins, as one after the other), each 'submitted'; those inserted come back whole:
# the national record is made from them.
_ADD_CASES = Sql(
    "INSERT INTO cases (id, code, status, agency_code, agency_name, procedure_code,"
    " procedure_name, field, online_level, processing_days, cutoff_time, fee_vnd, fee_timing,"
    " supplement_days, applicant, applicant_name, form, attachments, result_delivery,"
    " recipient, submitted_at, priority_at, updated_at)"
    " SELECT id, code, 'submitted', agency_code, agency_name, procedure_code,"
    " procedure_name, field, online_level, processing_days, cutoff_time, fee_vnd, fee_timing,"
    " supplement_days, applicant::jsonb, applicant_name, form::jsonb, attachments::jsonb,"
    " result_delivery::jsonb, recipient::jsonb, submitted_at, submitted_at, submitted_at"
    " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
    " $7::text[], $8::text[], $9::int[], $10::text[], $11::bigint[], $12::text[], $13::int[],"
    " $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[],"
    " $20::timestamptz[])"
    " WITH ORDINALITY AS run (id, code, agency_code, agency_name, procedure_code,"
    " procedure_name, field, online_level, processing_days, cutoff_time, fee_vnd, fee_timing,"
    " supplement_days, applicant, applicant_name, form, attachments, result_delivery,"
    " recipient, submitted_at, position)"
    " ORDER BY position ON CONFLICT DO NOTHING RETURNING *"
)
_FILES = TypeAdapter(list[ev.FileRef])
_SUBMITTED_NOTE = "Công dân nộp hồ sơ trực tuyến."


async def dossiers_submitted(
    ctx: Context, session: AsyncSession, events: Sequence[tuple[Envelope, ev.DossierSubmitted]]
) -> None:
    """A run of submitted dossiers (`Batched`): each becomes a case, once; each table is
    written once for the run."""
    # A copy of a dossier already in the run (redelivered under a new id) finds its case
    # open, as it would after the first: it changes nothing.
    first: dict[uuid.UUID, tuple[Envelope, ev.DossierSubmitted]] = {}
    for envelope, data in events:
        first.setdefault(data.dossier_id, (envelope, data))
    procedures: dict[str, ev.DossierSubmitted] = {}
    for _, data in events:
        procedures.setdefault(data.procedure_code, data)
    await _ADD_PROCEDURE.executemany(
        session,
        [
            (d.procedure_code, d.procedure_name, d.field, d.online_level, d.processing_days,
             d.cutoff_time, d.fee_vnd, d.fee_timing, d.supplement_days)
            for d in procedures.values()
        ],
    )  # fmt: skip
    inserted = await _ADD_CASES.fetch(session, *_columns(list(first.values())))
    returned = {row["id"]: row for row in inserted}
    entries, opened = [], []
    for envelope, data in first.values():
        if data.dossier_id not in returned:
            continue  # its case was open already
        case = dict(returned[data.dossier_id])
        entries.append(
            entry(
                case["id"], at=data.submitted_at, actor=CITIZEN, action=Recorded.SUBMIT,
                from_status=None, to_status=S.SUBMITTED, note=_SUBMITTED_NOTE,
            )
        )  # fmt: skip
        # Registered (national code 1), in the transaction that opens the case, from the
        # case as inserted and the one step just recorded (the citizen's: no officer).
        submitted = national.Step(
            at=data.submitted_at, action=Recorded.SUBMIT.value, from_status=None,
            to_status=S.SUBMITTED.value, officer_name=None, officer_role=None,
        )  # fmt: skip
        # An event that came without a correlation id starts one, as the consumer gives
        # an event handled alone.
        cause = envelope.correlation_id or new_correlation_id()
        opened.append(national_outbox.Opened(case, [submitted], data.submitted_at, cause))
    await audit_all(session, entries)
    await national_outbox.queue_opened(ctx.outbox, session, opened)


def _columns(run: Sequence[tuple[Envelope, ev.DossierSubmitted]]) -> list[list[Any]]:
    """The parameters of `_ADD_CASES`: one array per column, in the run's order; JSON as
    its text (pydantic's serialiser, without a detour through Python objects)."""
    rows = [
        (
            d.dossier_id, e.dossier_code, d.agency_code, d.agency_name, d.procedure_code,
            d.procedure_name, d.field, d.online_level, d.processing_days, d.cutoff_time,
            d.fee_vnd, d.fee_timing, d.supplement_days, d.applicant.model_dump_json(),
            d.applicant.full_name, json_text(d.form), _FILES.dump_json(d.attachments).decode(),
            d.result_delivery.model_dump_json(), d.recipient.model_dump_json(), d.submitted_at,
        )
        for e, d in run
    ]  # fmt: skip
    return [list(column) for column in zip(*rows, strict=True)]


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
