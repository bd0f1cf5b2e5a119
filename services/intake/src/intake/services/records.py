"""What the dossier use cases share: reading a dossier its owner may touch, checking its
status, the rows and event parts they build."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import (
    dossiers,
)
from intake.domain.statuses import AccountStatus
from intake.services.context import Context
from shared.contracts import events
from shared.contracts.events import DossierStatus
from shared.db.sql import Runner, Sql
from shared.errors import Conflict, Forbidden, NotFound
from shared.messaging import outbox

NOT_FOUND = "Không tìm thấy hồ sơ."


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def owned(
    session: Runner,
    owner_id: uuid.UUID,
    *,
    dossier_id: uuid.UUID | None = None,
    code: str | None = None,
    lock: bool = False,
) -> Any:
    """The dossier if the caller owns it; 404 otherwise (another's dossier does not exist
    for them)."""
    query = _OWNED[("id" if dossier_id else "code", lock)]
    dossier = await query.fetchrow(session, dossier_id or code, owner_id)
    if dossier is None:
        raise NotFound(NOT_FOUND)
    return dossier


# The reads and writes every dossier request makes, written once (see shared/db/sql.py).
_DOSSIER = "SELECT * FROM dossiers WHERE {} = $1 AND owner_id = $2"
_OWNED = {
    ("id", False): Sql(_DOSSIER.format("id")),
    ("id", True): Sql(_DOSSIER.format("id") + " FOR UPDATE"),
    ("code", False): Sql(_DOSSIER.format("code")),
    ("code", True): Sql(_DOSSIER.format("code") + " FOR UPDATE"),
}
_ACCOUNT = Sql("SELECT * FROM accounts WHERE id = $1")
# A draft and the bytes its files hold, for an upload's checks before its body is read.
_WITH_SIZE = Sql(
    "SELECT d.*, (SELECT coalesce(sum(f.size), 0)::bigint FROM attachments f"
    " WHERE f.dossier_id = d.id) AS held_size"
    " FROM dossiers d WHERE d.id = $1 AND d.owner_id = $2"
)
# A submission reads its draft (locked), the holder's account and the files in one round
# trip: the account and files as JSON beside the dossier's columns.
_FOR_SUBMISSION = Sql(
    "SELECT d.*,"
    " (SELECT jsonb_build_object('status', a.status, 'full_name', a.full_name,"
    "  'phone', a.phone, 'email', a.email) FROM accounts a WHERE a.id = d.owner_id) AS account,"
    " (SELECT coalesce(jsonb_agg(to_jsonb(f) ORDER BY f.created_at), '[]'::jsonb)"
    "  FROM attachments f WHERE f.dossier_id = d.id) AS files"
    " FROM dossiers d WHERE d.id = $1 AND d.owner_id = $2 FOR UPDATE"
)
_ATTACHMENTS = Sql("SELECT * FROM attachments WHERE dossier_id = $1 ORDER BY created_at")
_TIMELINE = Sql(
    "INSERT INTO timeline (dossier_id, at, status, note, event_id)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
)


async def find_dossier(session: AsyncSession, *where: Any, lock: bool = False) -> Any:
    """The dossier row matching `where`, or None; `lock` holds it to the transaction's end."""
    query = select(dossiers).where(*where)
    return (await session.execute(query.with_for_update() if lock else query)).mappings().first()


def require_status(dossier: Any, allowed: Collection[DossierStatus], detail: str) -> None:
    if dossier["status"] not in allowed:
        raise Conflict(detail, current_status=dossier["status"])


async def active_account(session: Runner, account_id: uuid.UUID) -> Any:
    return require_active(await _ACCOUNT.fetchrow(session, account_id))


def require_active(account: Any) -> Any:
    if account is None or account["status"] != AccountStatus.ACTIVE:
        raise Forbidden("Tài khoản chưa được kích hoạt.")
    return account


async def owned_with_size(on: Runner, owner_id: uuid.UUID, dossier_id: uuid.UUID) -> Any:
    """The caller's dossier, not locked, with `held_size` (the bytes of its files); 404 if
    not theirs."""
    dossier = await _WITH_SIZE.fetchrow(on, dossier_id, owner_id)
    if dossier is None:
        raise NotFound(NOT_FOUND)
    return dossier


async def owned_for_submission(session: Runner, owner_id: uuid.UUID, dossier_id: uuid.UUID) -> Any:
    """The caller's dossier, locked, with `account` (status, name, phone, email of its
    holder) and `files` (its attachments, oldest first); 404 if not theirs."""
    dossier = await _FOR_SUBMISSION.fetchrow(session, dossier_id, owner_id)
    if dossier is None:
        raise NotFound(NOT_FOUND)
    return dossier


async def agency_row(ctx: Context, code: str) -> Any:
    """The agency a dossier names (it exists: the dossier's foreign key says so)."""
    row = await ctx.reference.agency(code)
    if row is None:
        raise LookupError(f"agency {code} of a dossier is missing")
    return row


async def procedure_row(ctx: Context, code: str) -> Any:
    """The procedure a dossier names (it exists: the dossier's foreign key says so)."""
    row = await ctx.reference.procedure(code)
    if row is None:
        raise LookupError(f"procedure {code} of a dossier is missing")
    return row


async def attachments_of(session: AsyncSession, dossier_id: uuid.UUID) -> Any:
    """The dossier's files, oldest first."""
    return await _ATTACHMENTS.fetch(session, dossier_id)


async def add_timeline(
    session: AsyncSession,
    dossier_id: uuid.UUID,
    at: datetime,
    status: DossierStatus,
    note: str | None,
    event_id: uuid.UUID | None = None,
) -> None:
    await _TIMELINE.execute(session, dossier_id, at, status, note, event_id)


@functools.cache
def _change(columns: tuple[str, ...]) -> Sql:
    """The dossier's status ($2), sequence ($3), time ($4) and `columns` ($11...; named by
    the use cases, never by a request), its timeline entry with the note ($5) and its
    event in the outbox ($6 to $10): one statement, one round trip, written once per set
    of columns."""
    sets = "".join(f", {name} = ${i}" for i, name in enumerate(columns, start=11))
    return Sql(
        f"WITH changed AS (UPDATE dossiers SET status = $2, sequence = $3, updated_at = $4{sets}"  # noqa: S608 - column names from the code
        " WHERE id = $1 RETURNING id),"
        " noted AS (INSERT INTO timeline (dossier_id, at, status, note)"
        " SELECT id, $4, $2, $5 FROM changed ON CONFLICT DO NOTHING), " + outbox.added(6)
    )


async def change_dossier(
    ctx: Context,
    session: Runner,
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
    columns = tuple(sorted(values))
    envelope = ctx.outbox.wrap(event, dossier_code=dossier_code, sequence=sequence, occurred_at=now)
    await _change(columns).execute(
        session, dossier["id"], event.status, sequence, now, note, *outbox.row_of(envelope),
        *(values[c] for c in columns),
    )  # fmt: skip


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
