"""A dossier's life in workflow, through the real API, broker and database: cases made from
intake's events, officers' actions, the clock paused by supplements, and the events each
transition emits for notify, stats and intake."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from services.workflow.tests.conftest import StartWorkflow
from services.workflow.tests.integration.support import (
    BAC_KAN,
    PDF,
    Desk,
    arrived,
    case_status,
    emitted,
    submitted,
    supplemented,
    withdrawn,
)
from shared.contracts import events as ev
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest
from workflow.adapters.tables import cases, history

pytestmark = pytest.mark.integration


async def test_a_dossier_from_submission_to_returned_result(workflow: ServiceUnderTest) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code
    assert code
    await arrived(workflow, dossier)
    # Redelivered: still one case, one history entry for the submission.
    await workflow.publish(dossier)

    received = await desk.act("receiver", code, "receive", json={"note": "Đủ thành phần"})
    assert received.status_code == 200, received.text
    assert received.json()["status"] == "received"
    assert received.json()["due_at"]
    assert (
        await desk.act("receiver", code, "assign", json={"officer": "bk.xuly"})
    ).status_code == 200
    result = await desk.act(
        "processor", code, "result",
        data={"summary": "Đã đăng ký tạm trú, cấp xác nhận."},
        files={"file": ("ket-qua.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    assert result.status_code == 200, result.text
    assert result.json()["result_file"]["content_type"] == "application/pdf"
    assert (await desk.act("processor", code, "submit-for-approval")).status_code == 200
    back = await desk.act("approver", code, "send-back", json={"note": "Bổ sung số nhà"})
    assert back.json()["status"] == "in_progress"
    assert (await desk.act("processor", code, "submit-for-approval")).status_code == 200
    approved = await desk.act("approver", code, "approve")
    assert approved.status_code == 200
    assert approved.json()["judgement"] == "early"
    returned = await desk.act("receiver", code, "return-result", json={"originals_verified": True})
    assert returned.json()["status"] == "returned"

    detail = (await desk.get("receiver", f"/api/v1/dossiers/{code}")).json()
    assert [h["action"] for h in detail["history"]] == [
        "submit", "receive", "assign", "result", "submit-for-approval", "send-back",
        "submit-for-approval", "approve", "return-result",
    ]  # fmt: skip
    assert detail["history"][1]["actor"]["name"] == "Hoàng Thị Lan"
    assert detail["attachments"][0]["download_url"].startswith("http")
    assert detail["result"]["file"]["download_url"].startswith("http")

    events = await emitted(workflow, code)
    assert [e.type for e in events] == [
        "dossier.received", "dossier.assigned", "dossier.submitted_for_approval",
        "dossier.sent_back", "dossier.submitted_for_approval", "dossier.approved",
        "dossier.result_ready", "dossier.returned",
    ]  # fmt: skip
    assert [e.sequence for e in events] == list(range(1, 9))
    ready = events[6].payload_as(ev.DossierResultReady)
    assert ready.judgement is ev.Judgement.EARLY
    assert ready.original_due_at == ready.due_at
    assert ready.processing_working_hours is not None
    assert ready.processing_working_hours < 1
    assert ready.procedure_code == "1.004194"
    assert ready.agency_code == BAC_KAN
    assert ready.recipient
    assert ready.recipient.phone == "0912345678"
    assert ready.result_file
    assert ready.result_file.bucket == "dossier-results"


async def test_disallowed_actions_answer_409_and_change_nothing(workflow: ServiceUnderTest) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    refused = await desk.act("approver", code, "approve")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["current_status"] == "submitted"
    assert await case_status(workflow, code) == "submitted"
    assert await emitted(workflow, code) == []
    wrong = await desk.act("receiver", code, "return-result", json={"originals_verified": False})
    assert wrong.status_code == 422


async def test_a_retried_action_with_its_key_gets_the_first_answer(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    key = {"Idempotency-Key": "nhan-ho-so-1"}
    first = await desk.act("receiver", code, "receive", json={"note": "Đủ"}, headers=key)
    again = await desk.act("receiver", code, "receive", json={"note": "Đủ"}, headers=key)
    other = await desk.act("receiver", code, "receive", json={"note": "Khác"}, headers=key)
    unkeyed = await desk.act("receiver", code, "receive", json={"note": "Đủ"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert other.status_code == 422
    assert unkeyed.status_code == 409
    assert [e.type for e in await emitted(workflow, code)] == ["dossier.received"]


async def test_two_officers_acting_at_once_cannot_both_win(workflow: ServiceUnderTest) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    answers = await asyncio.gather(*(desk.act("receiver", code, "receive") for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409]
    assert [e.type for e in await emitted(workflow, code)] == ["dossier.received"]


async def test_supplements_pause_the_clock_and_move_the_due_date_by_the_pause(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    # Before receipt the clock has not started: a pause there moves nothing.
    asked = await desk.act(
        "receiver", code, "request-supplement",
        json={"items": [{"document_code": "TP2", "description": "Thiếu giấy tờ chỗ ở"},
                        {"description": "Ảnh chụp mờ, cần chụp lại"}], "note": "Bổ sung một lần"},
    )  # fmt: skip
    assert asked.status_code == 200
    assert asked.json()["round"] == 1
    await arrived(workflow, supplemented(dossier), "submitted")
    assert (await desk.act("receiver", code, "receive")).status_code == 200
    assert (
        await desk.act("receiver", code, "assign", json={"officer": "bk.xuly"})
    ).status_code == 200
    due_before = await _due_at(workflow, code)
    counted_from = await _counted_from(workflow, code)

    asked = await desk.act(
        "processor", code, "request-supplement",
        json={"items": [{"description": "Thiếu xác nhận của chủ hộ"}]},
    )  # fmt: skip
    assert asked.json()["round"] == 2
    paused_at = await _pause_start(workflow, code, 2)
    resumed_at = paused_at + timedelta(days=3, hours=2)
    await arrived(workflow, supplemented(dossier, at=resumed_at), "in_progress")

    events = [e for e in await emitted(workflow, code) if e.type == "dossier.resumed"]
    assert len(events) == 2
    first, second = (e.payload_as(ev.DossierResumed) for e in events)
    assert first.paused_working_hours == 0
    assert first.status == "submitted"
    assert second.round == 2
    assert second.previous_due_at == due_before
    assert second.status == "in_progress"
    paused = timedelta(hours=second.paused_working_hours)
    # Three days and two hours of wall time hold at most four working days.
    assert timedelta(0) < paused <= timedelta(hours=4 * 8)
    # The new due date is the old one plus exactly the paused working time.
    async with workflow.runtime.db.transaction() as session:
        from workflow.services.calendars import engine_for

        engine = await engine_for(session, BAC_KAN)
    assert second.due_at == engine.add_working_time(due_before, paused)
    # No apology was written: the date reports judge by moves with the pause as well.
    assert second.original_due_at == second.due_at
    assert engine.paused_working_time(paused_at, resumed_at, counted_from=counted_from) == paused
    detail = (await desk.get("processor", f"/api/v1/dossiers/{code}")).json()
    assert [r["round"] for r in detail["supplement_rounds"]] == [1, 2]
    assert detail["supplement_rounds"][0]["items"][1]["description"] == "Ảnh chụp mờ, cần chụp lại"


async def test_a_supplement_asked_before_the_clock_starts_leaves_the_due_date(
    workflow: ServiceUnderTest,
) -> None:
    """As for a dossier received after the cut-off and sent back at once: the clock starts
    a working day after the receipt, and a pause that ends when it starts stopped nothing,
    though a working day of office time may have passed meanwhile."""
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    assert (await desk.act("receiver", code, "receive")).status_code == 200
    async with workflow.runtime.db.transaction() as session:
        from workflow.services.calendars import engine_for

        engine = await engine_for(session, BAC_KAN)
        case = (await session.execute(select(cases).where(cases.c.code == code))).mappings().one()
        # The clock starts one working day later, the due date as far on.
        later = engine.add_working_time(case["counted_from"], timedelta(hours=8))
        due = engine.add_working_time(case["due_at"], timedelta(hours=8))
        await session.execute(
            cases.update()
            .where(cases.c.code == code)
            .values(counted_from=later, due_at=due, original_due_at=due)
        )
    asked = await desk.act(
        "receiver", code, "request-supplement", json={"items": [{"description": "Thiếu ảnh"}]}
    )
    assert asked.status_code == 200, asked.text
    await arrived(workflow, supplemented(dossier, at=later), "received")
    resumed = next(
        e.payload_as(ev.DossierResumed)
        for e in await emitted(workflow, code)
        if e.type == "dossier.resumed"
    )
    assert resumed.paused_working_hours == 0
    assert resumed.due_at == due
    assert await _due_at(workflow, code) == due


async def test_a_withdrawn_dossier_is_closed_and_refuses_actions(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    assert (await desk.act("receiver", code, "receive")).status_code == 200
    await arrived(workflow, withdrawn(dossier), "withdrawn")
    assert (
        await desk.act("receiver", code, "assign", json={"officer": "bk.xuly"})
    ).status_code == 409


async def test_the_audit_trail_cannot_be_edited(workflow: ServiceUnderTest) -> None:
    dossier = submitted()
    await arrived(workflow, dossier)
    async with workflow.runtime.db.transaction() as session:
        case_id = await session.scalar(
            select(cases.c.id).where(cases.c.code == dossier.dossier_code)
        )
    with pytest.raises(Exception, match="append-only"):
        async with workflow.runtime.db.transaction() as session:
            await session.execute(
                history.update().where(history.c.case_id == case_id).values(note="sửa")
            )
    with pytest.raises(Exception, match="append-only"):
        async with workflow.runtime.db.transaction() as session:
            await session.execute(text("DELETE FROM history"))


async def test_an_apology_extends_once_and_keeps_the_original_due_date(
    start_workflow: StartWorkflow,
) -> None:
    workflow = await start_workflow()
    desk = await Desk(workflow).sign_in()
    dossier = submitted(processing_days=15)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    received = (await desk.act("receiver", code, "receive")).json()
    due = datetime.fromisoformat(received["due_at"])
    new_date = (due + timedelta(days=7)).date()
    while new_date.weekday() >= 5:
        new_date += timedelta(days=1)
    body = {"new_due_date": new_date.isoformat(), "reason": "Cần xác minh thêm tại địa phương"}
    assert (await desk.act("processor", code, "extend-deadline", json=body)).status_code == 403
    extended = await desk.act("approver", code, "extend-deadline", json=body)
    assert extended.status_code == 200, extended.text
    assert datetime.fromisoformat(extended.json()["original_due_at"]) == due
    assert (await desk.act("approver", code, "extend-deadline", json=body)).status_code == 409
    event = [e for e in await emitted(workflow, code) if e.type == "dossier.deadline_extended"]
    data = event[0].payload_as(ev.DossierDeadlineExtended)
    assert data.original_due_at == due
    assert data.new_due_at.date() >= new_date - timedelta(days=1)


async def _due_at(service: ServiceUnderTest, code: str) -> datetime:
    async with service.runtime.db.transaction() as session:
        due_at = await session.scalar(select(cases.c.due_at).where(cases.c.code == code))
    assert isinstance(due_at, datetime)
    return due_at


async def _pause_start(service: ServiceUnderTest, code: str, round_: int) -> datetime:
    from workflow.adapters.tables import pauses

    async def started() -> datetime | None:
        async with service.runtime.db.transaction() as session:
            return await session.scalar(
                select(pauses.c.paused_at)
                .join(cases, cases.c.id == pauses.c.case_id)
                .where(cases.c.code == code, pauses.c.round == round_)
            )

    return await eventually(started, timeout=5, what="the pause")


async def _counted_from(service: ServiceUnderTest, code: str) -> datetime:
    async with service.runtime.db.transaction() as session:
        at = await session.scalar(select(cases.c.counted_from).where(cases.c.code == code))
    assert isinstance(at, datetime)
    return at
