"""What the dossier use cases share: reading a dossier its owner may touch, checking its
status, the rows and event parts they build."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import (
    accounts,
    agencies,
    attachments,
    dossiers,
    procedures,
    timeline,
)
from intake.domain.statuses import AccountStatus
from intake.services.context import Context
from shared.contracts import events
from shared.contracts.events import DossierStatus
from shared.errors import Conflict, Forbidden, NotFound

NOT_FOUND = "Không tìm thấy hồ sơ."


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def owned(
    session: AsyncSession,
    owner_id: uuid.UUID,
    *,
    dossier_id: uuid.UUID | None = None,
    code: str | None = None,
    lock: bool = False,
) -> Any:
    """The dossier if the caller owns it; 404 otherwise (another's dossier does not exist
    for them)."""
    dossier = await find_dossier(
        session,
        dossiers.c.owner_id == owner_id,
        dossiers.c.id == dossier_id if dossier_id else dossiers.c.code == code,
        lock=lock,
    )
    if dossier is None:
        raise NotFound(NOT_FOUND)
    return dossier


async def find_dossier(session: AsyncSession, *where: Any, lock: bool = False) -> Any:
    """The dossier row matching `where`, or None; `lock` holds it to the transaction's end."""
    query = select(dossiers).where(*where)
    return (await session.execute(query.with_for_update() if lock else query)).mappings().first()


def require_status(dossier: Any, allowed: Collection[DossierStatus], detail: str) -> None:
    if dossier["status"] not in allowed:
        raise Conflict(detail, current_status=dossier["status"])


async def active_account(session: AsyncSession, account_id: uuid.UUID) -> Any:
    account = (
        (await session.execute(select(accounts).where(accounts.c.id == account_id)))
        .mappings()
        .first()
    )
    if account is None or account["status"] != AccountStatus.ACTIVE:
        raise Forbidden("Tài khoản chưa được kích hoạt.")
    return account


async def agency_row(session: AsyncSession, code: str) -> Any:
    return (await session.execute(select(agencies).where(agencies.c.code == code))).mappings().one()


async def procedure_row(session: AsyncSession, code: str) -> Any:
    return (
        (await session.execute(select(procedures).where(procedures.c.code == code)))
        .mappings()
        .one()
    )


async def attachments_of(session: AsyncSession, dossier_id: uuid.UUID) -> Any:
    """The dossier's files, oldest first."""
    query = (
        select(attachments)
        .where(attachments.c.dossier_id == dossier_id)
        .order_by(attachments.c.created_at)
    )
    return (await session.execute(query)).mappings().all()


async def add_timeline(
    session: AsyncSession,
    dossier_id: uuid.UUID,
    at: datetime,
    status: DossierStatus,
    note: str | None,
    event_id: uuid.UUID | None = None,
) -> None:
    await session.execute(
        insert(timeline)
        .values(dossier_id=dossier_id, at=at, status=status, note=note, event_id=event_id)
        .on_conflict_do_nothing()
    )


async def change_dossier(
    ctx: Context,
    session: AsyncSession,
    dossier: Any,
    dossier_code: str,
    event: events.DossierEvent,
    note: str,
    now: datetime,
    **values: Any,
) -> None:
    """The one way a citizen's action changes a dossier, in the caller's transaction: the
    row takes the event's status and the next sequence, the timeline an entry, the outbox
    the event."""
    sequence = dossier["sequence"] + 1
    status = event.status
    await session.execute(
        dossiers.update()
        .where(dossiers.c.id == dossier["id"])
        .values(status=status, sequence=sequence, updated_at=now, **values)
    )
    await add_timeline(session, dossier["id"], now, status, note)
    await ctx.outbox.add(
        session, event, dossier_code=dossier_code, sequence=sequence, occurred_at=now
    )


def facts(procedure: Any, agency: Any, status: DossierStatus) -> dict[str, Any]:
    return {
        "procedure_code": procedure["code"],
        "procedure_name": procedure["name"],
        "field": procedure["field"],
        "agency_code": agency["code"],
        "agency_name": agency["name"],
        "status": status,
    }


def file_ref(row: Any) -> events.FileRef:
    return events.FileRef(
        bucket=row["bucket"],
        key=row["object_key"],
        size=row["size"],
        content_type=row["content_type"],
        sha256=row["sha256"],
        document_code=row["document_code"],
        filename=row["filename"],
    )


def recipient(account: Any, channels: list[str]) -> events.Recipient:
    return events.Recipient(
        full_name=account["full_name"],
        phone=account["phone"],
        email=account["email"],
        channels=[events.Channel(c) for c in channels],
    )
