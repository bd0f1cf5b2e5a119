"""What officers read: the agency's work list and a dossier's detail.

The work list pages by keyset on (priority_at, code), which the indexes on
(agency_code, [status | procedure_code], priority_at, code) serve directly, so a page
costs the same on the first and on the thousandth page of a million dossiers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.events import DossierStatus
from shared.errors import BadRequest
from shared.pages import cursor_moment, split_page
from workflow.adapters.tables import cases, history, pauses
from workflow.domain.lifecycle import CLOCK_RUNNING
from workflow.domain.preconditions import stop_reason, supplement_lapsed
from workflow.services.calendars import engine_for
from workflow.services.changes import Officer, read_case
from workflow.services.context import Context

RUNNING = [s.value for s in CLOCK_RUNNING]
_CODE_LIKE = re.compile(r"^[A-Za-z]\d{2}[\d.\-]*$")

LIST_COLUMNS = (
    cases.c.code, cases.c.status, cases.c.procedure_code, cases.c.procedure_name,
    cases.c.applicant_name, cases.c.submitted_at, cases.c.received_at, cases.c.due_at,
    cases.c.assignee_id, cases.c.assignee_name, cases.c.priority_at,
    cases.c.supplement_rounds,
)  # fmt: skip


def _encode(priority_at: datetime, code: str) -> str:
    raw = json.dumps([priority_at.isoformat(), code]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, code = json.loads(raw)
        return cursor_moment(at), str(code)
    except (binascii.Error, ValueError, TypeError):
        raise BadRequest("Tham số cursor không hợp lệ.") from None


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(cases.c.status.in_(RUNNING), cases.c.due_at < now)


async def work_list(
    ctx: Context,
    officer: Officer,
    *,
    status: list[DossierStatus] | None = None,
    overdue: bool | None = None,
    assignee: str | None = None,
    procedure_code: str | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The agency's dossiers, most urgent first, filtered."""
    now = datetime.now(UTC)
    query = select(*LIST_COLUMNS).where(cases.c.agency_code == officer.agency_code)
    if status:
        query = query.where(cases.c.status.in_([s.value for s in status]))
    if overdue is True:
        query = query.where(_overdue(now))
    elif overdue is False:
        query = query.where(~_overdue(now) | cases.c.due_at.is_(None))
    if assignee:
        assignee_id = officer.id if assignee == "me" else _uuid(assignee)
        query = query.where(cases.c.assignee_id == assignee_id)
    if procedure_code:
        query = query.where(cases.c.procedure_code == procedure_code)
    if q:
        if _CODE_LIKE.match(q.strip()):
            query = query.where(cases.c.code.startswith(q.strip(), autoescape=True))
        else:
            pattern = "%" + q.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
            query = query.where(func.lower(cases.c.applicant_name).like(pattern))
    if cursor:
        query = query.where(tuple_(cases.c.priority_at, cases.c.code) > tuple_(*_decode(cursor)))
    query = query.order_by(cases.c.priority_at, cases.c.code).limit(limit + 1)
    async with ctx.db.transaction() as session:
        rows = (await session.execute(query)).mappings().all()
    page, next_cursor = split_page(rows, limit, lambda r: _encode(r["priority_at"], r["code"]))
    return {"items": [_item(r, now) for r in page], "next_cursor": next_cursor}


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest("Mã cán bộ không hợp lệ.") from None


def _item(row: Any, now: datetime) -> dict[str, Any]:
    return {
        "code": row["code"],
        "status": row["status"],
        "procedure_code": row["procedure_code"],
        "procedure_name": row["procedure_name"],
        "applicant_name": row["applicant_name"],
        "submitted_at": row["submitted_at"],
        "received_at": row["received_at"],
        "due_at": row["due_at"],
        "overdue": is_overdue(row["status"], row["due_at"], now),
        "assignee": _assignee(row),
        "supplement_rounds": row["supplement_rounds"],
    }


def _assignee(row: Any) -> dict[str, Any] | None:
    return {"id": row["assignee_id"], "name": row["assignee_name"]} if row["assignee_id"] else None


def is_overdue(status: str, due_at: datetime | None, now: datetime) -> bool:
    """Overdue is not a status: an open dossier whose clock runs past its due date."""
    return status in RUNNING and due_at is not None and now > due_at


async def detail(ctx: Context, officer: Officer, code: str) -> dict[str, Any]:
    """Everything an officer needs to decide: applicant, form, files, deadline, history."""
    now = datetime.now(UTC)
    async with ctx.db.snapshot() as session:
        case = await read_case(session, code, officer.agency_code)
        engine = await engine_for(session, case["agency_code"])
        trail = await trail_of(session, case["id"])
        rounds = await rounds_of(session, case["id"])
    expires = timedelta(seconds=ctx.settings.download_link_seconds)

    def linked(file: dict[str, Any]) -> dict[str, Any]:
        return {
            **file,
            "download_url": ctx.store.presigned_get(file["bucket"], file["key"], expires),
        }

    running = case["status"] in RUNNING and case["due_at"] is not None
    waiting = rounds[-1] if case["status"] == DossierStatus.SUPPLEMENT_REQUESTED else None
    supplement_due_at = waiting["supplement_due_at"] if waiting else None
    return {
        "code": case["code"],
        "status": case["status"],
        "procedure_code": case["procedure_code"],
        "procedure_name": case["procedure_name"],
        "agency_code": case["agency_code"],
        "agency_name": case["agency_name"],
        "applicant": case["applicant"],
        "contact": case["recipient"],
        "form": case["form"],
        "result_delivery": case["result_delivery"],
        "attachments": [linked(a) for a in case["attachments"]],
        "submitted_at": case["submitted_at"],
        "received_at": case["received_at"],
        "counted_from": case["counted_from"],
        "due_at": case["due_at"],
        "original_due_at": case["original_due_at"],
        "rule_set": case["rule_set"],
        "working_days_left": engine.working_days_left(case["due_at"], now) if running else None,
        "overdue": is_overdue(case["status"], case["due_at"], now),
        "assignee": _assignee(case),
        "supplement_rounds": [
            {
                "round": r["round"],
                "items": r["items"],
                "note": r["note"],
                "requested_at": r["paused_at"],
                "supplement_due_at": r["supplement_due_at"],
                "supplemented_at": r["resumed_at"],
                "paused_working_hours": (r["paused_seconds"] or 0) / 3600,
            }
            for r in rounds
        ],
        "supplement_due_at": supplement_due_at,
        "stop_reason": (
            stop_reason(supplement_due_at)
            if supplement_due_at and supplement_lapsed(supplement_due_at, now)
            else None
        ),
        "result": {
            "summary": case["result_summary"],
            "file": linked(case["result_file"]) if case["result_file"] else None,
            "resolved_at": case["resolved_at"],
            "judgement": case["judgement"],
        },
        "fee": {
            "amount_vnd": case["fee_vnd"],
            "timing": case["fee_timing"],
            "paid_at": case["fee_paid_at"],
            "receipt_no": case["fee_receipt_no"],
        },
        "history": [_entry(h) for h in trail],
    }


async def trail_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Any]:
    """The case's audit trail, oldest first."""
    query = select(history).where(history.c.case_id == case_id).order_by(history.c.id)
    return (await session.execute(query)).mappings().all()


async def rounds_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Any]:
    """The case's supplement requests, first round first."""
    query = select(pauses).where(pauses.c.case_id == case_id).order_by(pauses.c.round)
    return (await session.execute(query)).mappings().all()


def _entry(row: Any) -> dict[str, Any]:
    return {
        "at": row["at"],
        "actor": {
            "kind": row["actor_kind"],
            "id": row["actor_id"],
            "name": row["actor_name"],
            "role": row["actor_role"],
        },
        "action": row["action"],
        "from_status": row["from_status"],
        "to_status": row["to_status"],
        "note": row["note"],
    }
