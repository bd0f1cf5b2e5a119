"""The citizen's deadline to supplement (ThoiHanBoSung) on the real database and broker:
set from the procedure when the supplement is asked for, reminded one working day before,
and once it has passed the desk stops the dossier with the reason prefilled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.workflow.tests.conftest import StartWorkflow
from services.workflow.tests.integration.support import (
    BAC_KAN,
    Desk,
    arrived,
    case_status,
    catalogue,
    emitted,
    submitted,
    supplemented,
)
from shared.contracts import events as ev
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest
from workflow.adapters.tables import cases, pauses, procedures, timers
from workflow.domain.deadlines import DeadlineEngine
from workflow.domain.preconditions import stop_reason

pytestmark = pytest.mark.integration


async def _engine(service: ServiceUnderTest) -> DeadlineEngine:
    from workflow.services.calendars import engine_for

    async with service.runtime.db.transaction() as session:
        return await engine_for(session, BAC_KAN)


async def _pause(service: ServiceUnderTest, code: str, round_: int = 1) -> dict[str, Any]:
    async with service.runtime.db.transaction() as session:
        row = (
            (
                await session.execute(
                    select(pauses)
                    .join(cases, cases.c.id == pauses.c.case_id)
                    .where(cases.c.code == code, pauses.c.round == round_)
                )
            )
            .mappings()
            .one()
        )
    return dict(row)


async def _lapse(service: ServiceUnderTest, code: str) -> datetime:
    """Bring the supplement deadline into the past, as time would; the new deadline."""
    past = datetime.now(UTC) - timedelta(minutes=1)
    async with service.runtime.db.transaction() as session:
        case_id = await session.scalar(select(cases.c.id).where(cases.c.code == code))
        await session.execute(
            pauses.update().where(pauses.c.case_id == case_id).values(supplement_due_at=past)
        )
    return past


async def test_a_lapsed_supplement_deadline_lets_the_desk_stop_the_dossier(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted(supplement_days=3)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    assert (await desk.act("receiver", code, "receive")).status_code == 200
    asked = await desk.act(
        "receiver", code, "request-supplement", json={"items": [{"description": "Thiếu ảnh"}]}
    )
    assert asked.status_code == 200, asked.text
    # The procedure's three working days, from the request.
    pause = await _pause(workflow, code)
    engine = await _engine(workflow)
    expected = engine.supplement_due_at(pause["paused_at"], 3)
    assert datetime.fromisoformat(asked.json()["supplement_due_at"]) == expected
    requested = next(
        e.payload_as(ev.DossierSupplementRequested)
        for e in await emitted(workflow, code)
        if e.type == "dossier.supplement_requested"
    )
    assert requested.supplement_due_at == expected

    # Before the deadline: refused, nothing changes; and never by the processor.
    early = await desk.act("receiver", code, "stop")
    assert early.status_code == 409, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    assert "thời hạn bổ sung" in early.json()["detail"]
    assert (await desk.act("processor", code, "stop")).status_code == 403
    assert await case_status(workflow, code) == "supplement_requested"
    detail = (await desk.get("receiver", f"/api/v1/dossiers/{code}")).json()
    assert datetime.fromisoformat(detail["supplement_due_at"]) == expected
    assert detail["stop_reason"] is None

    deadline = await _lapse(workflow, code)
    detail = (await desk.get("receiver", f"/api/v1/dossiers/{code}")).json()
    assert detail["stop_reason"] == stop_reason(deadline)
    stopped = await desk.act("receiver", code, "stop", headers={"Idempotency-Key": "stop-1"})
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["reason"] == stop_reason(deadline)
    # Retried: answered as the first time, not refused from the status it moved to.
    again = await desk.act("receiver", code, "stop", headers={"Idempotency-Key": "stop-1"})
    assert again.status_code == 200
    assert again.json() == stopped.json()
    assert await case_status(workflow, code) == "stopped"

    events = [e for e in await emitted(workflow, code) if e.type == "dossier.stopped"]
    assert len(events) == 1
    data = events[0].payload_as(ev.DossierStopped)
    assert data.status == ev.DossierStatus.STOPPED
    assert data.reason == stop_reason(deadline)
    assert data.recipient is not None
    assert data.recipient.phone == "0912345678"
    assert data.actor.role == "receiver"
    # Final: no action moves it, and a late supplement is only kept on record.
    assert (await desk.act("receiver", code, "receive")).status_code == 409
    assert (await desk.act("receiver", code, "stop")).status_code == 409
    await workflow.publish(supplemented(dossier))

    async def noted() -> bool:
        history = (await desk.get("receiver", f"/api/v1/dossiers/{code}")).json()["history"]
        return history[-1]["action"] == "supplement"

    await eventually(noted, timeout=10, what="the late supplement on record")
    assert await case_status(workflow, code) == "stopped"


async def test_the_desk_may_write_its_own_reason_to_stop(workflow: ServiceUnderTest) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    await desk.act(
        "receiver", code, "request-supplement", json={"items": [{"description": "Thiếu ảnh"}]}
    )
    await _lapse(workflow, code)
    reason = "Công dân báo không bổ sung được giấy tờ chỗ ở."
    stopped = await desk.act("receiver", code, "stop", json={"reason": reason})
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["reason"] == reason
    # A dossier not waiting for a supplement cannot be stopped.
    other = submitted()
    await arrived(workflow, other)
    refused = await desk.act("receiver", other.dossier_code or "", "stop")
    assert refused.status_code == 409


async def test_the_citizen_is_reminded_once_a_working_day_before_the_deadline(
    start_workflow: StartWorkflow,
) -> None:
    workflow = await start_workflow(timer_poll_seconds=0.1)
    desk = await Desk(workflow).sign_in()
    # The catalogue's two days apply to a dossier whose own terms are silent.
    await workflow.publish(catalogue(supplement_days=2))

    async def learned() -> bool:
        async with workflow.runtime.db.transaction() as session:
            days = await session.scalar(
                select(procedures.c.supplement_days).where(procedures.c.code == "1.004194")
            )
        return days == 2

    await eventually(learned, timeout=10, what="the catalogue's supplement days")
    waiting, answered = submitted(), submitted()
    for dossier in (waiting, answered):
        await arrived(workflow, dossier)
        asked = await desk.act(
            "receiver", dossier.dossier_code or "", "request-supplement",
            json={"items": [{"description": "Thiếu ảnh"}]},
        )  # fmt: skip
        assert asked.status_code == 200, asked.text
    code = waiting.dossier_code or ""
    pause = await _pause(workflow, code)
    engine = await _engine(workflow)
    deadline = engine.supplement_due_at(pause["paused_at"], 2)
    assert pause["supplement_due_at"] == deadline
    async with workflow.runtime.db.transaction() as session:
        fire_at = await session.scalar(
            select(timers.c.fire_at)
            .join(cases, cases.c.id == timers.c.case_id)
            .where(cases.c.code == code, timers.c.kind == "supplement_due_soon")
        )
    assert fire_at == engine.due_soon_at(deadline)
    # The other citizen supplements: their reminder is stale and says nothing.
    await arrived(workflow, supplemented(answered), "submitted")
    async with workflow.runtime.db.transaction() as session:
        await session.execute(
            timers.update()
            .where(timers.c.kind == "supplement_due_soon")
            .values(fire_at=datetime.now(UTC) - timedelta(minutes=1))
        )

    async def reminded() -> list[ev.DossierSupplementDueSoon] | None:
        found = [
            e.payload_as(ev.DossierSupplementDueSoon)
            for e in await emitted(workflow, code)
            if e.type == "dossier.supplement_due_soon"
        ]
        return found or None

    (reminder,) = await eventually(reminded, timeout=10, what="the reminder")
    assert reminder.round == 1
    assert reminder.supplement_due_at == deadline
    assert reminder.status == ev.DossierStatus.SUPPLEMENT_REQUESTED
    assert reminder.recipient is not None
    assert reminder.recipient.channels == [ev.Channel.SMS]
    assert 0 < reminder.working_hours_left <= 16

    async def all_fired() -> bool:
        async with workflow.runtime.db.transaction() as session:
            pending = await session.scalar(
                select(timers.c.case_id).where(
                    timers.c.kind == "supplement_due_soon", timers.c.fired_at.is_(None)
                )
            )
        return pending is None

    await eventually(all_fired, timeout=10, what="both reminders handled")
    from workflow.services.timers import fire_due_timers

    assert await fire_due_timers(workflow.runtime.db, workflow.runtime.outbox) == 0
    assert [
        e.type for e in await emitted(workflow, code) if e.type == "dossier.supplement_due_soon"
    ] == ["dossier.supplement_due_soon"]
    other = [e.type for e in await emitted(workflow, answered.dossier_code or "")]
    assert "dossier.supplement_due_soon" not in other
