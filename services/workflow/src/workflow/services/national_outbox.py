"""The records for the National Public Service Portal, written in the transaction of each
change of a dossier (changes.change, and the submission that opens a case): when the
dossier's national status code changed, the portal's record goes to `national_sync`
with the dossier's next sequence; services/sync.py sends them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.events import DossierStatus
from workflow.adapters.tables import history, national_sync
from workflow.domain import national


async def queue(session: AsyncSession, case: Mapping[str, Any], now: datetime) -> None:
    """Write the dossier's record for the national portal if its national status changed.
    The caller holds the case's row lock (or has just created it), so sequences are dense."""
    steps = await _steps(session, case["id"])
    code = national.status_code(
        DossierStatus(case["status"]),
        received=case.get("received_at") is not None,
        # A supplement that brought the dossier back to "received" came after reception.
        resumed=any(s.action == "supplement" and s.to_status == "received" for s in steps),
    )
    if code is None:
        return
    last = (
        await session.execute(
            select(national_sync.c.sequence, national_sync.c.status_code)
            .where(national_sync.c.case_id == case["id"])
            .order_by(national_sync.c.sequence.desc())
            .limit(1)
        )
    ).first()
    if last is not None and last.status_code == code:
        return
    sequence = 1 if last is None else last.sequence + 1
    await session.execute(
        national_sync.insert().values(
            case_id=case["id"], dossier_code=case["code"], sequence=sequence, status_code=code,
            record=national.record(case, steps, code=code, sequence=sequence),
            created_at=now, next_attempt_at=now,
        )
    )  # fmt: skip


async def _steps(session: AsyncSession, case_id: Any) -> list[national.Step]:
    rows = await session.execute(
        select(history).where(history.c.case_id == case_id).order_by(history.c.id)
    )
    return [
        national.Step(
            at=r.at, action=r.action, from_status=r.from_status, to_status=r.to_status,
            officer_name=r.actor_name if r.actor_kind == "officer" else None,
            officer_role=r.actor_role if r.actor_kind == "officer" else None,
        )
        for r in rows
    ]  # fmt: skip
