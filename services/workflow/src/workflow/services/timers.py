"""Due-soon and overdue announcements.

Each change of a dossier's due date writes two rows in `timers` for the new deadline
version (changes.schedule_timers). This worker claims the rows that came due with
`FOR UPDATE SKIP LOCKED`, so several consume processes share the work and a restart
loses nothing: a row is marked fired in the same transaction as its event's outbox row.
A timer of an older deadline version, or of a dossier whose clock no longer runs, is
marked fired without an event: each dossier hears once per kind and deadline version.
The citizen's supplement reminder (kind `supplement_due_soon`, its version the round)
fires only while the dossier still waits on that round.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import events as ev
from shared.contracts.events import DossierStatus as S
from shared.db import Database
from shared.messaging import Outbox
from shared.runtime import repeat
from workflow.adapters.tables import cases, officers, pauses, timers
from workflow.domain.lifecycle import CLOCK_RUNNING, Role
from workflow.services.calendars import engine_for
from workflow.services.changes import TIMER, announce, facts, officer_actor, read_case
from workflow.services.context import Context

log = logging.getLogger(__name__)


async def fire_due_timers(db: Database, outbox: Outbox, *, batch: int = 200) -> int:
    """One pass: announce what came due; returns how many timers were handled."""
    now = datetime.now(UTC)
    async with db.transaction() as session:
        due = (
            (
                await session.execute(
                    select(timers)
                    .where(timers.c.fired_at.is_(None), timers.c.fire_at <= now)
                    .order_by(timers.c.fire_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .all()
        )
        for timer in due:
            await _fire(session, outbox, timer, now)
            await session.execute(
                timers.update()
                .where(
                    timers.c.case_id == timer["case_id"],
                    timers.c.kind == timer["kind"],
                    timers.c.deadline_version == timer["deadline_version"],
                )
                .values(fired_at=now)
            )
    return len(due)


async def _fire(session: AsyncSession, outbox: Outbox, timer: Any, now: datetime) -> None:
    code = await session.scalar(select(cases.c.code).where(cases.c.id == timer["case_id"]))
    case = await read_case(session, str(code), lock=True)
    if timer["kind"] == "supplement_due_soon":
        await _remind_citizen(session, outbox, case, timer["deadline_version"], now)
        return
    if case["deadline_version"] != timer["deadline_version"] or case["status"] not in CLOCK_RUNNING:
        return
    people = await _responsible(session, case, overdue=timer["kind"] == "overdue")
    actors = [officer_actor(p) for p in people]
    contacts = [
        ev.Recipient(
            full_name=p["full_name"],
            phone=p["phone"],
            email=p["email"],
            channels=[
                channel
                for channel, address in (
                    (ev.Channel.EMAIL, p["email"]),
                    (ev.Channel.SMS, p["phone"]),
                )
                if address
            ],
        )
        for p in people
    ]
    common = facts(case, ev.DossierStatus(case["status"]), TIMER, None)
    data: ev.EventData
    if timer["kind"] == "due_soon":
        engine = await engine_for(session, case["agency_code"])
        left = engine.working_time_left(case["due_at"], now)
        data = ev.DossierDueSoon(
            **common,
            working_hours_left=round(left.total_seconds() / 3600, 2),
            officers=actors,
            officer_contacts=contacts,
        )
    else:
        data = ev.DossierOverdue(**common, officers=actors, officer_contacts=contacts)
    sequence = await announce(outbox, session, case, [data], now)
    await session.execute(cases.update().where(cases.c.id == case["id"]).values(sequence=sequence))


async def _remind_citizen(
    session: AsyncSession, outbox: Outbox, case: Any, round_: int, now: datetime
) -> None:
    """The citizen's reminder of the supplement deadline of `round_`, if the dossier still
    waits on that round (not supplemented, stopped or asked again meanwhile)."""
    if case["status"] != S.SUPPLEMENT_REQUESTED or case["supplement_rounds"] != round_:
        return
    deadline = await session.scalar(
        select(pauses.c.supplement_due_at).where(
            pauses.c.case_id == case["id"], pauses.c.round == round_
        )
    )
    if deadline is None:
        return
    engine = await engine_for(session, case["agency_code"])
    left = engine.working_time_left(deadline, now)
    data = ev.DossierSupplementDueSoon(
        **facts(case, S.SUPPLEMENT_REQUESTED, TIMER, None),
        round=round_, supplement_due_at=deadline,
        working_hours_left=round(left.total_seconds() / 3600, 2),
    )  # fmt: skip
    sequence = await announce(outbox, session, case, [data], now)
    await session.execute(cases.update().where(cases.c.id == case["id"]).values(sequence=sequence))


async def _responsible(session: AsyncSession, case: Any, *, overdue: bool) -> list[Any]:
    """The processor in charge, else the desk; the leaders as well once it is overdue."""
    roles = [Role.APPROVER.value] if overdue else []
    condition = officers.c.id == case["assignee_id"]
    if case["assignee_id"] is None:
        roles.append(Role.RECEIVER.value)
    query = select(officers).where(
        officers.c.active,
        officers.c.agency_code == case["agency_code"],
        condition | officers.c.roles.overlap(cast(roles, ARRAY(Text))),
    )
    return list((await session.execute(query.order_by(officers.c.username))).mappings())


async def timer_worker(ctx: Context, stop: asyncio.Event) -> None:
    """The consume process's loop over `fire_due_timers`."""
    batch = ctx.settings.timer_batch
    await repeat(
        stop, partial(fire_due_timers, ctx.db, ctx.outbox, batch=batch), full=batch,
        pause=ctx.settings.timer_poll_seconds, what="timers",
    )  # fmt: skip
