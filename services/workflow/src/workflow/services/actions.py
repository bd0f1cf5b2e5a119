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
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import events as ev
from shared.contracts.events import VIETNAM
from shared.db.idempotency import NO_RETRY, Answer, Retry
from shared.errors import Conflict, Forbidden, Invalid, Refused
from workflow.adapters.tables import officers, pauses
from workflow.domain.deadlines import rule_set_for
from workflow.domain.lifecycle import CLOCK_RUNNING, Action, judge, may
from workflow.services.calendars import cutoff, engine_for
from workflow.services.changes import Case, Officer, change, check, lock_case, schedule_timers
from workflow.services.context import Context


def allowed(officer: Officer, action: Action) -> None:
    if not may(officer.role, action):
        raise Forbidden("Vai trò của bạn không được thực hiện thao tác này.")


async def _begin(session: AsyncSession, officer: Officer, action: Action, code: str) -> Case:
    allowed(officer, action)
    case = await lock_case(session, code, officer.agency_code)
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
            case = await _begin(session, officer, action, code)
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
        engine = await engine_for(session, case["agency_code"])
        now = datetime.now(UTC)
        limit = cutoff(case["cutoff_time"])
        counted_from = engine.counted_from(now, limit)
        due_at = engine.due_at(now, case["processing_days"], limit)
        rule_set = rule_set_for(now).key
        case = await change(
            ctx.outbox, session, case, Action.RECEIVE, officer.actor,
            note=note,
            values={
                "received_at": now, "counted_from": counted_from, "due_at": due_at,
                "original_due_at": due_at, "rule_set": rule_set, "received_by": officer.name,
                "deadline_version": case["deadline_version"] + 1,
            },
            emit=lambda c, f: [
                ev.DossierReceived(
                    **f, channel="online", counted_from=counted_from, rule_set=rule_set
                )
            ],
            now=now,
        )  # fmt: skip
        await schedule_timers(session, case, engine)
        return _answer(case)

    return await _act(ctx, officer, Action.RECEIVE, code, retry, step)


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
        supplement_due_at = engine.supplement_due_at(now, rules.supplement_days)
        round_ = case["supplement_rounds"] + 1
        clock_was_running = case["status"] in CLOCK_RUNNING
        case = await change(
            ctx.outbox, session, case, Action.REQUEST_SUPPLEMENT, officer.actor,
            note=request.note,
            values={"resume_status": case["status"], "supplement_rounds": round_},
            emit=lambda c, f: [
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
        return {**_answer(case), "round": round_, "supplement_due_at": supplement_due_at}

    return await _act(ctx, officer, Action.REQUEST_SUPPLEMENT, code, retry, step)


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
            emit=lambda c, f: [
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
        target = ev.Actor(
            kind="officer", id=str(assignee["id"]), name=assignee["full_name"], role="processor"
        )
        case = await change(
            ctx.outbox, session, case, Action.ASSIGN, officer.actor,
            note=f"Giao cho {assignee['full_name']}",
            values={"assignee_id": assignee["id"], "assignee_name": assignee["full_name"]},
            emit=lambda c, f: [ev.DossierAssigned(**f, assignee=target)],
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
                    officers.c.role == "processor",
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


def own_work(officer: Officer, case: Case) -> None:
    if case["assignee_id"] is not None and case["assignee_id"] != officer.id:
        raise Forbidden("Hồ sơ này được giao cho cán bộ khác.")


async def record_result(
    ctx: Context,
    officer: Officer,
    code: str,
    summary: str,
    result_file: ev.FileRef | None,
) -> dict[str, Any]:
    """The processor's result: a summary and, optionally, the e-result already stored."""
    async with ctx.db.transaction() as session:
        case = await _begin(session, officer, Action.RECORD_RESULT, code)
        own_work(officer, case)
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
        own_work(officer, case)
        if not case["result_summary"]:
            raise Conflict("Chưa có kết quả xử lý: hãy cập nhật kết quả trước khi trình ký.")
        case = await change(
            ctx.outbox, session, case, Action.SUBMIT_FOR_APPROVAL, officer.actor,
            note=note,
            emit=lambda c, f: [ev.DossierSubmittedForApproval(**f)],
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
            emit=lambda c, f: [ev.DossierSentBack(**f)],
        )  # fmt: skip
        return _answer(case)

    return await _act(ctx, officer, Action.SEND_BACK, code, retry, step)


async def approve(
    ctx: Context, officer: Officer, code: str, note: str | None, retry: Retry = NO_RETRY
) -> dict[str, Any]:
    """The leader signs: the result is ready, judged against the original due date."""

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        now = datetime.now(UTC)
        original = case["original_due_at"] or case["due_at"]
        judgement = judge(now, original, VIETNAM)
        hours = await _working_hours_used(session, case, now)
        result_file = (
            ev.FileRef.model_validate(case["result_file"]) if case["result_file"] else None
        )
        delivery = ev.ResultDelivery.model_validate(case["result_delivery"])
        case = await change(
            ctx.outbox, session, case, Action.APPROVE, officer.actor,
            note=note,
            values={"resolved_at": now, "judgement": judgement.value},
            emit=lambda c, f: [
                ev.DossierApproved(**f, approved_at=now),
                ev.DossierResultReady(
                    **f, resolved_at=now, judgement=judgement, processing_working_hours=hours,
                    result_summary=c["result_summary"], result_file=result_file,
                    delivery=delivery,
                ),
            ],
            now=now,
        )  # fmt: skip
        return {**_answer(case), "resolved_at": now, "judgement": judgement.value}

    return await _act(ctx, officer, Action.APPROVE, code, retry, step)


async def return_result(
    ctx: Context,
    officer: Officer,
    code: str,
    originals_verified: bool,
    note: str | None,
    retry: Retry = NO_RETRY,
) -> dict[str, Any]:
    """Hand the result over, once the paper originals match what was submitted online."""
    if not originals_verified:
        raise Invalid(
            "Chỉ trả kết quả sau khi đã đối chiếu bản chính; nếu không khớp, hãy từ chối hồ sơ.",
            errors=[{"field": "originals_verified", "message": "Phải xác nhận đã đối chiếu."}],
        )

    async def step(session: AsyncSession, case: Case) -> dict[str, Any]:
        now = datetime.now(UTC)
        case = await change(
            ctx.outbox, session, case, Action.RETURN_RESULT, officer.actor,
            note=note,
            emit=lambda c, f: [
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
        if case["extended_at"] is not None:
            raise Conflict("Hồ sơ đã được xin lỗi và hẹn lại một lần; không gia hạn lần nữa.")
        engine = await engine_for(session, case["agency_code"])
        now = datetime.now(UTC)
        due_at = case["due_at"]
        if due_at is None or not engine.can_extend(due_at, now):
            raise Conflict(
                "Chỉ được hẹn lại trước ngày hẹn trả ít nhất một ngày làm việc.",
            )
        if new_due_date <= due_at.astimezone(VIETNAM).date():
            raise _bad_date("Ngày hẹn mới phải sau ngày hẹn cũ.")
        if not engine.calendar.is_working_day(new_due_date):
            raise _bad_date("Ngày hẹn mới phải là ngày làm việc.")
        new_due_at = _end_of_day(engine, new_due_date)
        case = await change(
            ctx.outbox, session, case, Action.EXTEND_DEADLINE, officer.actor,
            note=reason,
            values={
                "due_at": new_due_at, "extended_at": now,
                "deadline_version": case["deadline_version"] + 1,
            },
            emit=lambda c, f: [
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


async def _working_hours_used(session: AsyncSession, case: Case, now: datetime) -> float | None:
    """Working time from the clock's start to `now`, the supplement pauses taken out."""
    if case["counted_from"] is None:
        return None
    engine = await engine_for(session, case["agency_code"])
    paused = await session.scalar(
        select(func.coalesce(func.sum(pauses.c.paused_seconds), 0)).where(
            pauses.c.case_id == case["id"], pauses.c.clock_was_running
        )
    )
    used = engine.working_time_between(case["counted_from"], now).total_seconds() - int(paused or 0)
    return round(max(used, 0) / 3600, 2)


def _bad_date(message: str) -> Refused:
    return Invalid(message, errors=[{"field": "new_due_date", "message": message}])


def _end_of_day(engine: Any, day: date) -> datetime:
    """The last working moment of `day` (a half day off in the afternoon ends at noon)."""
    periods = engine.hours.periods
    end: time = periods[0][1] if engine.calendar.off_half(day) == "afternoon" else periods[-1][1]
    return datetime.combine(day, end, VIETNAM).astimezone(UTC)
