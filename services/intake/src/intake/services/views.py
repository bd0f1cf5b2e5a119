"""Reading dossiers: the owner's list and full view, and the public tracking view."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, tuple_

from intake.adapters.tables import (
    agencies,
    dossiers,
    procedures,
    timeline,
)
from intake.services import limits, payments
from intake.services.calendars import days_left
from intake.services.context import Context
from intake.services.pages import Page
from intake.services.records import attachments_of, iso, owned
from shared.db.sql import Sql
from shared.errors import BadRequest, NotFound
from shared.pages import cursor_moment, split_page


async def list_own(ctx: Context, owner_id: uuid.UUID, limit: int, cursor: str | None) -> Page:
    """The caller's dossiers, newest first."""
    query = (
        select(dossiers, procedures.c.name.label("procedure_name"))
        .join(procedures, procedures.c.code == dossiers.c.procedure_code)
        .where(dossiers.c.owner_id == owner_id)
        .order_by(dossiers.c.created_at.desc(), dossiers.c.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        try:
            at, _, last_id = cursor.partition("|")
            position = (cursor_moment(at), uuid.UUID(last_id))
        except ValueError:
            raise BadRequest("Con trỏ phân trang không hợp lệ.") from None
        query = query.where(tuple_(dossiers.c.created_at, dossiers.c.id) < tuple_(*position))
    async with ctx.db.transaction() as session:
        rows = (await session.execute(query)).mappings().all()
    page, next_cursor = split_page(
        rows, limit, lambda r: f"{r['created_at'].isoformat()}|{r['id']}"
    )
    items = [
        {
            "id": str(r["id"]),
            "code": r["code"],
            "status": r["status"],
            "procedure_code": r["procedure_code"],
            "procedure_name": r["procedure_name"],
            "agency_code": r["agency_code"],
            "created_at": r["created_at"].isoformat(),
            "submitted_at": iso(r["submitted_at"]),
            "due_at": iso(r["due_at"]),
        }
        for r in page
    ]
    return Page(items, next_cursor)


async def owner_view(ctx: Context, owner_id: uuid.UUID, ref: str) -> dict[str, Any]:
    """Everything about one of the caller's dossiers (by code, or by id while a draft)."""
    async with ctx.db.snapshot() as session:
        dossier = await owned(session, owner_id, **_ref(ref))
        names = (
            await session.execute(
                select(
                    select(procedures.c.name)
                    .where(procedures.c.code == dossier["procedure_code"])
                    .scalar_subquery(),
                    select(agencies.c.name)
                    .where(agencies.c.code == dossier["agency_code"])
                    .scalar_subquery(),
                )
            )
        ).one()
        files = await attachments_of(session, dossier["id"])
        payment = await payments.summary(session, dossier["id"])
        entries = (
            (
                await session.execute(
                    select(timeline.c.at, timeline.c.status, timeline.c.note)
                    .where(timeline.c.dossier_id == dossier["id"])
                    .order_by(timeline.c.at, timeline.c.id)
                )
            )
            .mappings()
            .all()
        )
    return {
        "id": str(dossier["id"]),
        "code": dossier["code"],
        "status": dossier["status"],
        "procedure_code": dossier["procedure_code"],
        "procedure_name": names[0],
        "agency_code": dossier["agency_code"],
        "agency_name": names[1],
        "case_code": dossier["case_code"],
        "applicant": dossier["applicant"],
        "form": dossier["form"],
        "notify_via": dossier["notify_via"],
        "result_delivery": dossier["result_delivery"],
        **_dates(dossier),
        "working_days_left": await days_left(ctx, dossier),
        "supplement_request": dossier["supplement_request"],
        "result_available": bool((dossier["result"] or {}).get("file")),
        # The fee's receipt (number, time, amount) on the dossier; the PDF once it has a code.
        "payment": payment
        and {
            **payment,
            "receipt_url": f"/api/v1/dossiers/{dossier['code']}/receipt.pdf"
            if payment["receipt_no"] and dossier["code"]
            else None,
        },
        "timeline": [
            {"at": e["at"].isoformat(), "status": e["status"], "note": e["note"]} for e in entries
        ],
        "attachments": [
            {
                "id": str(f["id"]),
                "document_code": f["document_code"],
                "filename": f["filename"],
                "size": f["size"],
                "sha256": f["sha256"],
                "content_type": f["content_type"],
                "round": f["round"],
            }
            for f in files
        ],
    }


_TRACKING = Sql(
    "SELECT d.code, d.status, d.agency_code, d.submitted_at, d.received_at, d.due_at,"
    " d.resolved_at, d.supplement_request, p.name AS procedure_name, a.name AS agency_name"
    " FROM dossiers d JOIN procedures p ON p.code = d.procedure_code"
    " JOIN agencies a ON a.code = d.agency_code WHERE d.code = $1"
)


async def public_tracking(ctx: Context, code: str, address: str) -> dict[str, Any]:
    """What anyone with the code may see: status and dates, no personal data. Counted per
    address (`limits.tracked_from`) in the statement that reads it: one round trip."""
    row = await limits.hit_then_fetchrow(ctx, (limits.tracked_from(address),), _TRACKING, code)
    if row is None:
        raise NotFound("Không tìm thấy hồ sơ với mã này.")
    return {
        "code": row["code"],
        "status": row["status"],
        "procedure_name": row["procedure_name"],
        "agency_name": row["agency_name"],
        **_dates(row),
        "working_days_left": await days_left(ctx, row),
    }


def _dates(row: Any) -> dict[str, str | None]:
    """The dossier's milestones, as both the owner and the public see them, with the
    citizen's deadline to supplement while the agency waits for it (ThoiHanBoSung)."""
    request = row["supplement_request"] or {}
    return {
        **{
            name: iso(row[name])
            for name in ("submitted_at", "received_at", "due_at", "resolved_at")
        },
        "supplement_due_at": request.get("supplement_due_at"),
    }


def _ref(ref: str) -> dict[str, Any]:
    try:
        return {"dossier_id": uuid.UUID(ref)}
    except ValueError:
        return {"code": ref}
