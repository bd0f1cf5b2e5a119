"""How any change to a case is made: under the case's row lock, checked against the state
machine, appended to the audit trail, and announced through the outbox, all in one
transaction. Officers' actions, the citizen's events and the timers all go through here,
so no path can change a dossier without its audit entry and its event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.db.sql import Sql
from shared.errors import NotFound
from shared.messaging import Outbox
from workflow.adapters.tables import cases, pauses, timers
from workflow.domain.deadlines import DeadlineEngine
from workflow.domain.lifecycle import Action, Recorded, Role, fee_due, next_status
from workflow.domain.staff import primary_role
from workflow.services import national_outbox

Case = Mapping[str, Any]


@dataclass(frozen=True)
class Officer:
    id: uuid.UUID
    name: str
    # The widest role held (events and history name it); `roles`: all of them.
    role: Role
    agency_code: str
    roles: frozenset[Role] = frozenset()
    username: str = ""
    # A temporary password not yet changed: nothing but changing it is allowed.
    must_change_password: bool = False

    def holds(self, role: Role) -> bool:
        return role == self.role or role in self.roles

    @property
    def actor(self) -> ev.Actor:
        return ev.Actor(kind="officer", id=str(self.id), name=self.name, role=self.role)


CITIZEN = ev.Actor(kind="citizen")
TIMER = ev.Actor(kind="timer")


async def read_case(
    session: AsyncSession, code: str, agency_code: str | None = None, *, lock: bool = False
) -> Case:
    """The case (with `lock`, locked until the transaction ends); 404 if missing or of
    another agency."""
    query = select(cases).where(cases.c.code == code)
    row = (await session.execute(query.with_for_update() if lock else query)).mappings().first()
    if row is None or (agency_code is not None and row["agency_code"] != agency_code):
        raise NotFound("Không tìm thấy hồ sơ này trong đơn vị của bạn.")
    return dict(row)


def facts(
    case: Case, status: ev.DossierStatus, actor: ev.Actor, note: str | None
) -> dict[str, Any]:
    """What every workflow event says about the dossier (WorkflowDossierEvent)."""
    return {
        "procedure_code": case["procedure_code"],
        "procedure_name": case["procedure_name"],
        "field": case["field"],
        "agency_code": case["agency_code"],
        "agency_name": case["agency_name"],
        "status": status,
        "actor": actor,
        "note": note,
        "received_at": case["received_at"],
        "due_at": case["due_at"],
        "original_due_at": case["original_due_at"],
        "recipient": ev.Recipient.model_validate(case["recipient"]),
    }


def check(action: Action, case: Case, resume_to: str | None = None) -> ev.DossierStatus:
    """The status `action` leads to from the case's (Conflict when the state machine says no)."""
    return next_status(
        action,
        ev.DossierStatus(case["status"]),
        ev.DossierStatus(resume_to) if resume_to else None,
        fee_owed=fee_due(
            int(case.get("fee_vnd") or 0),
            case.get("fee_timing") or "on_result",
            case.get("fee_paid_at") is not None,
        ),
    )


EventsOf = Callable[[Case, dict[str, Any]], list[EventData]]
"""Given the case after the change and the common event facts, the events to emit."""


async def change(
    outbox: Outbox,
    session: AsyncSession,
    case: Case,
    action: Action,
    actor: ev.Actor,
    *,
    note: str | None = None,
    values: Mapping[str, Any] | None = None,
    resume_to: str | None = None,
    emit: EventsOf | None = None,
    now: datetime | None = None,
) -> Case:
    """Apply `action` to the locked `case`: new status, `values`, audit entry, events."""
    now = now or datetime.now(UTC)
    status = check(action, case, resume_to)
    updated = {**case, **(values or {}), "status": status.value, "updated_at": now}
    if updated.get("due_at") is not None:
        updated["priority_at"] = updated["due_at"]
    await audit(
        session, case["id"], at=now, actor=actor, action=action,
        from_status=case["status"], to_status=status, note=note,
    )  # fmt: skip
    events = emit(updated, facts(updated, status, actor, note)) if emit else []
    updated["sequence"] = await announce(outbox, session, case, events, now)
    changed = {k: v for k, v in updated.items() if k != "id" and case.get(k) != v}
    if changed:
        await session.execute(cases.update().where(cases.c.id == case["id"]).values(**changed))
    # The national portal hears of the change in the same transaction (or not at all).
    await national_outbox.queue(outbox, session, updated, now)
    return updated


# Built once; each entry's values are its parameters (`entry`).
_ADD_HISTORY = Sql(
    "INSERT INTO history (case_id, at, actor_kind, actor_id, actor_name, actor_role, action,"
    " from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


def entry(
    case_id: uuid.UUID,
    *,
    at: datetime,
    actor: ev.Actor,
    action: Action | Recorded,
    from_status: str | None,
    to_status: str,
    note: str | None,
) -> tuple[Any, ...]:
    """One entry of the case's audit trail, as `audit` and `audit_all` write it."""
    return (
        case_id, at, actor.kind, actor.id, actor.name, actor.role, action.value, from_status,
        to_status, note,
    )  # fmt: skip


async def audit(
    session: AsyncSession,
    case_id: uuid.UUID,
    *,
    at: datetime,
    actor: ev.Actor,
    action: Action | Recorded,
    from_status: str | None,
    to_status: str,
    note: str | None,
) -> None:
    """One entry of the case's audit trail (the table refuses updates and deletes)."""
    await _ADD_HISTORY.execute(
        session,
        *entry(
            case_id, at=at, actor=actor, action=action, from_status=from_status,
            to_status=to_status, note=note,
        ),
    )  # fmt: skip


async def audit_all(session: AsyncSession, entries: Sequence[tuple[Any, ...]]) -> None:
    """Entries made by `entry`, appended in their order in one round trip (the cases a
    run of events opens)."""
    if entries:
        await _ADD_HISTORY.executemany(session, entries)


async def announce(
    outbox: Outbox, session: AsyncSession, case: Case, events: Iterable[EventData], now: datetime
) -> int:
    """Put `events` in the outbox numbered on from the case's last event; the new last
    number, which the caller stores on the case."""
    sequence = case["sequence"]
    for data in events:
        sequence += 1
        await outbox.add(
            session, data, dossier_code=case["code"], sequence=sequence, occurred_at=now
        )
    return sequence


def officer_actor(row: Mapping[str, Any]) -> ev.Actor:
    """An officer of the `officers` table, as events name them."""
    return ev.Actor(
        kind="officer", id=str(row["id"]), name=row["full_name"], role=primary_role(row["roles"])
    )


async def schedule_timers(session: AsyncSession, case: Case, engine: DeadlineEngine) -> None:
    """Due-soon and overdue announcements for the case's current deadline version.

    Timers of older versions stay in the table and are skipped when they come due.
    """
    due_at = case["due_at"]
    for kind, fire_at in (("due_soon", engine.due_soon_at(due_at)), ("overdue", due_at)):
        await session.execute(
            insert(timers)
            .values(
                case_id=case["id"],
                kind=kind,
                deadline_version=case["deadline_version"],
                fire_at=fire_at,
            )
            .on_conflict_do_nothing()
        )


async def schedule_supplement_reminder(
    session: AsyncSession, case: Case, round_: int, fire_at: datetime
) -> None:
    """The citizen's reminder one working day before the supplement deadline of `round_`
    (kept in `deadline_version`: a later round, or a supplement, makes it stale)."""
    await session.execute(
        insert(timers)
        .values(
            case_id=case["id"], kind="supplement_due_soon", deadline_version=round_,
            fire_at=fire_at,
        )
        .on_conflict_do_nothing()
    )  # fmt: skip


async def open_pause(session: AsyncSession, case_id: uuid.UUID) -> Any:
    """The supplement round the case waits on (None when it waits on none)."""
    return (
        (
            await session.execute(
                select(pauses)
                .where(pauses.c.case_id == case_id, pauses.c.resumed_at.is_(None))
                .order_by(pauses.c.round.desc())
            )
        )
        .mappings()
        .first()
    )
