"""The records for the National Public Service Portal, written in the transaction of each
change of a dossier (changes.change, and the submission that opens a case): when the
dossier's national status code changed, the portal's record goes to `national_sync`
with the dossier's next sequence, and `dossier.sync_queued` to the outbox (stats counts
a dossier synced once the record of that sequence has been accepted); services/sync.py
sends them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import events as ev
from shared.contracts.events import DossierStatus
from shared.db.sql import Sql, json_text
from shared.messaging import Outbox
from workflow.adapters.tables import history, national_sync
from workflow.domain import national

# Built once: each record's values are parameters (`_row`).
_LAST = (
    select(national_sync.c.sequence, national_sync.c.status_code)
    .where(national_sync.c.case_id == bindparam("case_id"))
    .order_by(national_sync.c.sequence.desc())
    .limit(1)
)
_ADD = Sql(
    "INSERT INTO national_sync (case_id, dossier_code, sequence, status_code, created_at,"
    " next_attempt_at, record) VALUES ($1, $2, $3, $4, $5, $5, $6)"
)


@dataclass(frozen=True)
class Opened:
    """A case opened in this very transaction, with the steps recorded as it opened and
    the correlation id of the event that opened it."""

    case: Mapping[str, Any]
    steps: Sequence[national.Step]
    at: datetime
    correlation_id: str


async def queue(
    outbox: Outbox, session: AsyncSession, case: Mapping[str, Any], now: datetime
) -> None:
    """Write the dossier's record for the national portal if its national status changed.
    The caller holds the case's row lock, so sequences are dense."""
    steps = await _steps(session, case["id"])
    code = _code(case, steps)
    if code is None:
        return
    last = (await session.execute(_LAST, {"case_id": case["id"]})).first()
    if last is not None and last.status_code == code:
        return
    sequence = 1 if last is None else last.sequence + 1
    await _ADD.execute(session, *_row(case, steps, code, sequence, now))
    await outbox.add(
        session, _queued(case, code, sequence, now), dossier_code=case["code"], occurred_at=now
    )


async def queue_opened(outbox: Outbox, session: AsyncSession, opened: Sequence[Opened]) -> None:
    """The first records of cases opened in this transaction (every submitted dossier):
    they have no record yet, so nothing is read back; all written in one round trip per
    table, each event in the correlation of the event that opened its case."""
    rows, events = [], []
    for o in opened:
        code = _code(o.case, o.steps)
        if code is None:
            continue
        rows.append(_row(o.case, o.steps, code, 1, o.at))
        events.append(
            outbox.wrap(
                _queued(o.case, code, 1, o.at), dossier_code=o.case["code"], occurred_at=o.at,
                correlation_id=o.correlation_id,
            )
        )  # fmt: skip
    if rows:
        await _ADD.executemany(session, rows)
        await outbox.add_all(session, events)


def _code(case: Mapping[str, Any], steps: Sequence[national.Step]) -> int | None:
    return national.status_code(
        DossierStatus(case["status"]),
        received=case.get("received_at") is not None,
        # A supplement that brought the dossier back to "received" came after reception.
        resumed=any(s.action == "supplement" and s.to_status == "received" for s in steps),
    )


def _row(
    case: Mapping[str, Any], steps: Sequence[national.Step], code: int, sequence: int, now: datetime
) -> tuple[Any, ...]:
    """The parameters of `_ADD`: the record and when it is first due (at once)."""
    record = national.record(case, steps, code=code, sequence=sequence)
    return (case["id"], case["code"], sequence, code, now, json_text(record))


def _queued(
    case: Mapping[str, Any], code: int, sequence: int, now: datetime
) -> ev.DossierSyncQueued:
    # Not numbered among the case's events: they say nothing of its status to intake.
    return ev.DossierSyncQueued(
        **dossier_facts(case), status_code=code, record_sequence=sequence, queued_at=now
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
