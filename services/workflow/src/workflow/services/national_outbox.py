"""The records for the National Public Service Portal, written in the transaction of each
change of a dossier (changes.change, and the submission that opens a case): when the
dossier's national status code changed, the portal's record goes to `national_sync`
with the dossier's next sequence, and `dossier.sync_queued` to the outbox (stats counts
a dossier synced once the record of that sequence has been accepted); services/sync.py
sends them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import events as ev
from shared.contracts.events import DossierStatus
from shared.messaging import Outbox
from workflow.adapters.tables import history, national_sync
from workflow.domain import national

# Built once: each record's values are parameters.
_LAST = (
    select(national_sync.c.sequence, national_sync.c.status_code)
    .where(national_sync.c.case_id == bindparam("case_id"))
    .order_by(national_sync.c.sequence.desc())
    .limit(1)
)
_ADD = national_sync.insert()


async def queue(
    outbox: Outbox,
    session: AsyncSession,
    case: Mapping[str, Any],
    now: datetime,
    *,
    opened: Sequence[national.Step] | None = None,
) -> None:
    """Write the dossier's record for the national portal if its national status changed.
    The caller holds the case's row lock (or has just created it), so sequences are dense.
    `opened`: the steps of a case opened in this very transaction, which has no record
    yet; nothing is read back then (every submitted dossier comes this way)."""
    steps = list(opened) if opened is not None else await _steps(session, case["id"])
    code = national.status_code(
        DossierStatus(case["status"]),
        received=case.get("received_at") is not None,
        # A supplement that brought the dossier back to "received" came after reception.
        resumed=any(s.action == "supplement" and s.to_status == "received" for s in steps),
    )
    if code is None:
        return
    last = None
    if opened is None:
        last = (await session.execute(_LAST, {"case_id": case["id"]})).first()
    if last is not None and last.status_code == code:
        return
    sequence = 1 if last is None else last.sequence + 1
    await session.execute(
        _ADD,
        {
            "case_id": case["id"], "dossier_code": case["code"], "sequence": sequence,
            "status_code": code, "created_at": now, "next_attempt_at": now,
            "record": national.record(case, steps, code=code, sequence=sequence),
        },
    )  # fmt: skip
    # Not numbered among the case's events: they say nothing of its status to intake.
    await outbox.add(
        session,
        ev.DossierSyncQueued(
            **dossier_facts(case), status_code=code, record_sequence=sequence, queued_at=now
        ),
        dossier_code=case["code"],
        occurred_at=now,
    )


def dossier_facts(case: Mapping[str, Any]) -> dict[str, Any]:
    """What every dossier event says of the case (DossierEvent)."""
    return {
        "procedure_code": case["procedure_code"], "procedure_name": case["procedure_name"],
        "field": case["field"], "agency_code": case["agency_code"],
        "agency_name": case["agency_name"], "status": DossierStatus(case["status"]),
    }  # fmt: skip


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
