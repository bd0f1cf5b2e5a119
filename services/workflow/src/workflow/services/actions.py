"""The officers' actions on a dossier (API.md, workflow section), one use case each.

Each checks the officer's role (403) and agency (404: another agency's dossier does not
exist for them), then goes through `changes.change`, which enforces the state machine
(409) under the case's row lock: two officers acting at once are serialised, and the
second finds the status already moved.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import events as ev
from shared.contracts.events import VIETNAM, Judgement
from shared.contracts.events import DossierStatus as S
from shared.db.idempotency import NO_RETRY, Answer, Retry
from shared.errors import Invalid
from workflow.adapters.tables import officers, pauses, procedures
from workflow.domain.deadlines import rule_set_for, supplement_days, working_hours_used
from workflow.domain.lifecycle import CLOCK_RUNNING, Action, Role, allowed, judge
from workflow.domain.preconditions import (
    fee_matches,
    new_appointment,
    originals_checked,
    own_work,
    result_recorded,
    stop_reason,
    supplement_deadline_passed,
)
from workflow.services.calendars import cutoff, engine_for
from workflow.services.changes import (
    Case,
    Officer,
    change,
    check,
    officer_actor,
    open_pause,
    read_case,
    schedule_supplement_reminder,
    schedule_timers,
)
from workflow.services.context import Context


async def begin(session: AsyncSession, officer: Officer, action: Action, code: str) -> Case:
    """The case, locked, once the officer's role may take `action` and the state machine
    allows it from the case's status (another agency's case is not found)."""
    allowed(officer.roles or {officer.role}, action)
    case = await read_case(session, code, officer.agency_code, lock=True)
    check(action, case)
    return case


async def _act(
    ctx: Context,
    officer: Officer,
    action: Action,
    code: str,
    retry: Retry,
    step: Callable[[AsyncSession, Case], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Every action's frame: one transaction; a retried request answered as the first
    time (not with a 409 from a status it already moved); the role checked and the case
    locked and checked against the state machine before `step` changes it."""
    async with ctx.db.transaction() as session:

        async def run() -> Answer:
            case = await begin(session, officer, action, code)
            return Answer(200, await step(session, case))

        answer = await ctx.idempotency.once(session, str(officer.id), retry, run)
    return answer.body


def _answer(case: Case) -> dict[str, Any]:
    return {
        "code": case["code"],
        "status": case["status"],
        "received_at": case["received_at"],
        "due_at": case["due_at"],
        "assignee": case["assignee_name"],
    }


async def receive(
    ctx: Context, officer: Officer, code: str, note: str | None, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """Accept a complete dossier: the clock starts and the appointment is set."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        return _answer(await received(ctx, session, case, officer, note, datetime.now(UTC)))

    return await _act(ctx, officer, Action.RECEIVE, code, retry, step)


async def received(
    ctx: Context,
    session: AsyncSession,
    case: Case,
    officer: Officer,
    note: str | None,
    now: datetime,
) -> Case:
    """The locked case received by `officer` at `now`: the clock starts, the appointment
    is set, `dossier.received` says by which channel (a paper dossier: direct)."""
    engine = await engine_for(session, case["agency_code"])
    limit = cutoff(case["cutoff_time"])
    counted_from = engine.counted_from(now, limit)
    due_at = engine.due_at(now, case["processing_days"], limit)
    rule_set = rule_set_for(now).key
    channel: Literal["online", "direct"] = "online" if case["channel"] == "online" else "direct"
    case = await change(
        ctx.outbox, session, case, Action.RECEIVE, officer.actor,
        note=note,
        values={
            "received_at": now, "counted_from": counted_from, "due_at": due_at,
            "original_due_at": due_at, "rule_set": rule_set, "received_by": officer.name,
            "deadline_version": case["deadline_version"] + 1,
        },
        emit=lambda _case, f: [
            ev.DossierReceived(**f, channel=channel, counted_from=counted_from, rule_set=rule_set)
        ],
        now=now,
    )  # fmt: skip
    await schedule_timers(session, case, engine)
    return case


@dataclass(frozen=True)
class SupplementRequest:
    items: list[ev.SupplementItem]
    note: str | None


async def request_supplement(
    ctx: Context, officer: Officer, code: str, request: SupplementRequest, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """Tell the citizen everything missing at once; the clock stops until they supplement."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        engine = await engine_for(session, case["agency_code"])
        now = datetime.now(UTC)
        rules = rule_set_for(case["received_at"] or now)
        days = supplement_days(await _supplement_days_of(session, case), rules)
        supplement_due_at = engine.supplement_due_at(now, days)
        round_ = case["supplement_rounds"] + 1
        clock_was_running = case["status"] in CLOCK_RUNNING
        case = await change(
            ctx.outbox, session, case, Action.REQUEST_SUPPLEMENT, officer.actor,
            note=request.note,
            values={"resume_status": case["status"], "supplement_rounds": round_},
            emit=lambda _case, f: [
                ev.DossierSupplementRequested(
                    **f, items=request.items, requested_at=now,
                    supplement_due_at=supplement_due_at, round=round_,
                )
            ],
            now=now,
        )  # fmt: skip
        await session.execute(
            pauses.insert().values(
                case_id=case["id"],
                round=round_,
                items=[i.model_dump(mode="json") for i in request.items],
                note=request.note,
                paused_at=now,
                supplement_due_at=supplement_due_at,
                clock_was_running=clock_was_running,
            )
        )
        reminder_at = engine.supplement_reminder_at(now, supplement_due_at)
        if reminder_at is not None:
            await schedule_supplement_reminder(session, case, round_, reminder_at)
        return {**_answer(case), "round": round_, "supplement_due_at": supplement_due_at}

    return await _act(ctx, officer, Action.REQUEST_SUPPLEMENT, code, retry, step)


async def _supplement_days_of(session: AsyncSession, case: Case) -> int | None:
    """The procedure's supplement deadline: as submitted, else as the catalogue has it."""
    if case["supplement_days"] is not None:
        return int(case["supplement_days"])
    days = await session.scalar(
        select(procedures.c.supplement_days).where(procedures.c.code == case["procedure_code"])
    )
    return None if days is None else int(days)


async def stop(
    ctx: Context, officer: Officer, code: str, reason: str | None, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """Stop processing a dossier whose citizen let the supplement deadline pass; the
    reason is prefilled with that deadline unless the desk writes its own."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        now = datetime.now(UTC)
        pause = await open_pause(session, case["id"])
        deadline = pause["supplement_due_at"] if pause else None
        supplement_deadline_passed(deadline, now)
        assert deadline is not None
        written = (reason or "").strip() or stop_reason(deadline)
        case = await change(
            ctx.outbox, session, case, Action.STOP, officer.actor,
            note=written, values={"resume_status": None},
            emit=lambda _case, f: [ev.DossierStopped(**f, reason=written, stopped_at=now)],
            now=now,
        )  # fmt: skip
        return {**_answer(case), "reason": written, "stopped_at": now}

    return await _act(ctx, officer, Action.STOP, code, retry, step)


async def reject(
    ctx: Context, officer: Officer, code: str, reason: str, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """Refuse the dossier, with the reason the citizen will read."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        now = datetime.now(UTC)
        stage = "intake" if case["received_at"] is None else "processing"
        case = await change(
            ctx.outbox, session, case, Action.REJECT, officer.actor,
            note=reason,
            emit=lambda _case, f: [
                ev.DossierRejected(**f, reason=reason, rejected_at=now, stage=stage)
            ],
            now=now,
        )  # fmt: skip
        return _answer(case)

    return await _act(ctx, officer, Action.REJECT, code, retry, step)


async def assign(
    ctx: Context, officer: Officer, code: str, assignee_ref: str, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """Hand the dossier to a processor of the same agency."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        assignee = await _processor(session, officer.agency_code, assignee_ref)
        target = officer_actor(assignee)
        case = await change(
            ctx.outbox, session, case, Action.ASSIGN, officer.actor,
            note=f"Giao cho {assignee['full_name']}",
            values={"assignee_id": assignee["id"], "assignee_name": assignee["full_name"]},
            emit=lambda _case, f: [ev.DossierAssigned(**f, assignee=target)],
        )  # fmt: skip
        return _answer(case)

    return await _act(ctx, officer, Action.ASSIGN, code, retry, step)


async def _processor(session: AsyncSession, agency_code: str, ref: str) -> Any:
    condition = officers.c.username == ref
    with contextlib.suppress(ValueError):
        condition = condition | (officers.c.id == uuid.UUID(ref))
    row = (
        (
            await session.execute(
                select(officers).where(
                    condition,
                    officers.c.agency_code == agency_code,
                    officers.c.roles.contains([Role.PROCESSOR.value]),
                    officers.c.active,
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Invalid(
            "Cán bộ được giao phải là cán bộ xử lý đang làm việc tại đơn vị.",
            errors=[{"field": "officer", "message": "Không có cán bộ xử lý này trong đơn vị."}],
        )
    return row


async def record_result(
    ctx: Context,
    officer: Officer,
    code: str,
    summary: str,
    result_file: ev.FileRef | None,
) -> dict[str, Any]:
    """The processor's result: a summary and, optionally, the e-result already stored."""
    async with ctx.db.transaction() as session:
        case = await begin(session, officer, Action.RECORD_RESULT, code)
        own_work(officer.id, case["assignee_id"])
        case = await change(
            ctx.outbox, session, case, Action.RECORD_RESULT, officer.actor,
            note=summary,
            values={
                "result_summary": summary,
                "result_file": result_file.model_dump(mode="json") if result_file else None,
            },
        )  # fmt: skip
    return {**_answer(case), "result_summary": summary, "result_file": case["result_file"]}


def result_key(code: str) -> str:
    """Where an e-result is stored: never derived from the uploaded file's name."""
    return f"{code}/{uuid.uuid4().hex}"


async def submit_for_approval(
    ctx: Context, officer: Officer, code: str, note: str | None, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """Send the processed dossier to the leader."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        own_work(officer.id, case["assignee_id"])
        result_recorded(case["result_summary"])
        case = await change(
            ctx.outbox, session, case, Action.SUBMIT_FOR_APPROVAL, officer.actor,
            note=note,
            emit=lambda _case, f: [ev.DossierSubmittedForApproval(**f)],
        )  # fmt: skip
        return _answer(case)

    return await _act(ctx, officer, Action.SUBMIT_FOR_APPROVAL, code, retry, step)


async def send_back(
    ctx: Context, officer: Officer, code: str, note: str, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """The leader returns the dossier to the processor."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        case = await change(
            ctx.outbox, session, case, Action.SEND_BACK, officer.actor,
            note=note,
            emit=lambda _case, f: [ev.DossierSentBack(**f)],
        )  # fmt: skip
        return _answer(case)

    return await _act(ctx, officer, Action.SEND_BACK, code, retry, step)


async def approve(
    ctx: Context, officer: Officer, code: str, note: str | None, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """The leader signs: the result is ready, judged against the original due date; or,
    with a fee still owed, the dossier waits for it (lifecycle.fee_due)."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        now = datetime.now(UTC)
        original = case["original_due_at"] or case["due_at"]
        judgement = judge(now, original, VIETNAM)
        hours = await _processing_hours(session, case, now)

        def events(c: Case, f: dict[str, Any]) -> list[ev.EventData]:
            if c["status"] == S.AWAITING_FEE:
                waiting = ev.DossierAwaitingFee(
                    **f, amount_vnd=int(c["fee_vnd"]), awaiting_since=now
                )
                return [ev.DossierApproved(**f, approved_at=now), waiting]
            ready = _result_ready(c, f, resolved_at=now, judgement=judgement, hours=hours)
            return [ev.DossierApproved(**f, approved_at=now), ready]

        case = await change(
            ctx.outbox, session, case, Action.APPROVE, officer.actor,
            note=note,
            values={"resolved_at": now, "judgement": judgement.value},
            emit=events,
            now=now,
        )  # fmt: skip
        return {**_answer(case), "resolved_at": now, "judgement": judgement.value}

    return await _act(ctx, officer, Action.APPROVE, code, retry, step)


async def _processing_hours(session: AsyncSession, case: Case, until: datetime) -> float | None:
    """Working time from the clock's start to `until`, the supplement pauses excluded."""
    engine = await engine_for(session, case["agency_code"])
    paused = await _paused_seconds(session, case["id"])
    return working_hours_used(engine, case["counted_from"], until, paused)


def _result_ready(
    case: Case,
    f: dict[str, Any],
    *,
    resolved_at: datetime,
    judgement: Judgement,
    hours: float | None,
) -> ev.DossierResultReady:
    result_file = ev.FileRef.model_validate(case["result_file"]) if case["result_file"] else None
    return ev.DossierResultReady(
        **f, resolved_at=resolved_at, judgement=judgement, processing_working_hours=hours,
        result_summary=case["result_summary"], result_file=result_file,
        delivery=ev.ResultDelivery.model_validate(case["result_delivery"]),
    )  # fmt: skip


@dataclass(frozen=True)
class DeskFee:
    amount_vnd: int
    receipt_no: str


async def record_fee(
    ctx: Context, officer: Officer, code: str, fee: DeskFee, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """The receiver records the fee the citizen paid at the desk, with its receipt: the
    payment is announced (`payment.completed`, in person) and the result is ready to be
    handed over. The result keeps the judgement of its approval: the days spent waiting
    for the citizen's fee are not the agency's."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        fee_matches(fee.amount_vnd, int(case["fee_vnd"]))
        now = datetime.now(UTC)
        judgement = Judgement(case["judgement"])
        hours = await _processing_hours(session, case, case["resolved_at"])
        case = await change(
            ctx.outbox, session, case, Action.RECORD_FEE, officer.actor,
            note=f"Đã thu phí, lệ phí {fee.amount_vnd:,} đồng, biên lai số {fee.receipt_no}.",
            values={"fee_paid_at": now, "fee_receipt_no": fee.receipt_no},
            emit=lambda c, f: [
                ev.PaymentCompleted(
                    **{k: f[k] for k in ev.DossierEvent.model_fields},
                    amount_vnd=fee.amount_vnd, method="in_person", reference=fee.receipt_no,
                    paid_at=now,
                ),
                _result_ready(c, f, resolved_at=now, judgement=judgement, hours=hours),
            ],
            now=now,
        )  # fmt: skip
        return {**_answer(case), "fee_vnd": fee.amount_vnd, "receipt_no": fee.receipt_no,
                "paid_at": now}  # fmt: skip

    return await _act(ctx, officer, Action.RECORD_FEE, code, retry, step)


async def return_result(
    ctx: Context,
    officer: Officer,
    code: str,
    originals_verified: bool,
    note: str | None,
    retry: Retry = NO_RETRY,
) -> dict[str, Any]:
    """Hand the result over, once the paper originals match what was submitted online."""
    originals_checked(originals_verified)

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        now = datetime.now(UTC)
        case = await change(
            ctx.outbox, session, case, Action.RETURN_RESULT, officer.actor,
            note=note,
            emit=lambda _case, f: [
                ev.DossierReturned(**f, returned_at=now, originals_verified=True)
            ],
            now=now,
        )  # fmt: skip
        return _answer(case)

    return await _act(ctx, officer, Action.RETURN_RESULT, code, retry, step)


async def extend_deadline(
    ctx: Context,
    officer: Officer,
    code: str,
    new_due_date: date,
    reason: str,
    retry: Retry = NO_RETRY,
) -> dict[str, Any]:
    """The one apology letter with a new appointment, before the original due date."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        engine = await engine_for(session, case["agency_code"])
        now = datetime.now(UTC)
        new_due_at = new_appointment(
            engine, due_at=case["due_at"], extended_at=case["extended_at"], now=now,
            new_due_date=new_due_date,
        )  # fmt: skip
        case = await change(
            ctx.outbox, session, case, Action.EXTEND_DEADLINE, officer.actor,
            note=reason,
            values={
                "due_at": new_due_at, "extended_at": now,
                "deadline_version": case["deadline_version"] + 1,
            },
            emit=lambda _case, f: [
                ev.DossierDeadlineExtended(
                    **f, new_due_at=new_due_at,
                    reason=reason,
                )
            ],
            now=now,
        )  # fmt: skip
        if case["status"] in CLOCK_RUNNING:
            await schedule_timers(session, case, engine)
        return {**_answer(case), "original_due_at": case["original_due_at"]}

    return await _act(ctx, officer, Action.EXTEND_DEADLINE, code, retry, step)


async def _paused_seconds(session: AsyncSession, case_id: uuid.UUID) -> int:
    """The supplement pauses that stopped a running clock, in seconds."""
    paused = await session.scalar(
        select(func.coalesce(func.sum(pauses.c.paused_seconds), 0)).where(
            pauses.c.case_id == case_id, pauses.c.clock_was_running
        )
    )
    return int(paused or 0)
