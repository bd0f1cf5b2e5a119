"""Official forms as PDF, the calendar an administrator edits, appointment previews, and
the due-soon and overdue timers."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from services.workflow.tests.conftest import StartWorkflow
from services.workflow.tests.integration.support import (
    BAC_KAN,
    SOC_TRANG,
    Desk,
    arrived,
    catalogue,
    emitted,
    submitted,
)
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.events import VIETNAM
from shared.messaging.tables import outbox
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest
from workflow.adapters.tables import cases, timers

pytestmark = pytest.mark.integration


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _has_image(pdf: bytes) -> bool:
    return bool(PdfReader(io.BytesIO(pdf)).pages[0].images)


async def test_each_form_carries_its_key_texts_the_code_and_a_qr(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted(processing_days=15)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    not_yet = await desk.get("receiver", f"/api/v1/dossiers/{code}/forms/receipt.pdf")
    assert not_yet.status_code == 409
    await desk.act(
        "receiver", code, "request-supplement",
        json={"items": [{"description": "Bản sao sổ hộ khẩu có chứng thực"}]},
    )  # fmt: skip
    await desk.act("receiver", code, "reject", json={"reason": "Nơi cư trú không thuộc địa bàn"})

    second = submitted(processing_days=15)
    other = second.dossier_code or ""
    await arrived(workflow, second)
    received = (await desk.act("receiver", other, "receive")).json()
    due_local = datetime.fromisoformat(received["due_at"]).astimezone(VIETNAM)
    new_date = due_local.date() + timedelta(days=14)
    while new_date.weekday() >= 5:
        new_date += timedelta(days=1)
    await desk.act(
        "approver", other, "extend-deadline",
        json={"new_due_date": new_date.isoformat(), "reason": "Chờ kết quả xác minh"},
    )  # fmt: skip

    texts = {}
    for form, of in (
        ("supplement-request", code), ("rejection", code), ("control-sheet", code),
        ("receipt", other), ("apology", other),
    ):  # fmt: skip
        answer = await desk.get("receiver", f"/api/v1/dossiers/{of}/forms/{form}.pdf")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        assert _has_image(answer.content), form
        texts[form] = _text(answer.content)
        assert of in texts[form]
        assert "Nguyễn Thị Bích" in texts[form]
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in texts["supplement-request"]
    assert "Bản sao sổ hộ khẩu có chứng thực" in texts["supplement-request"]
    assert "Nơi cư trú không thuộc địa bàn" in texts["rejection"]
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in texts["receipt"]
    assert f"ngày {due_local:%d/%m/%Y}" in texts["receipt"], texts["receipt"]
    assert "Hoàng Thị Lan" in texts["receipt"]
    assert f"ngày {new_date:%d/%m/%Y}" in texts["apology"]
    assert "Chờ kết quả xác minh" in texts["apology"]
    # Signed by the leader who extended the deadline, not by the receiver.
    assert "Triệu Đức Thắng" in texts["apology"]
    assert "Hoàng Thị Lan" not in texts["apology"]
    sheet = texts["control-sheet"]
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in sheet
    for step in ("Nộp hồ sơ trực tuyến", "Yêu cầu bổ sung, hoàn thiện", "Từ chối"):
        assert step in sheet
    unknown = await desk.get("receiver", f"/api/v1/dossiers/{code}/forms/giay-phep.pdf")
    assert unknown.status_code == 404


async def test_the_desk_sees_who_declared_for_whom_on_the_case_and_the_receipt(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    proxy = ev.Applicant(
        kind="proxy", full_name="Trần Văn Cường", id_number="001099000001", relationship="Con",
        address="Tổ 5, phường Đức Xuân",
        declarant=ev.Declarant(full_name="Nguyễn Thị Bích", id_number="001190012345"),
    )  # fmt: skip
    dossier = submitted(applicant=proxy)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    detail = (await desk.get("receiver", f"/api/v1/dossiers/{code}")).json()
    assert detail["applicant"]["relationship"] == "Con"
    assert detail["applicant"]["declarant"]["full_name"] == "Nguyễn Thị Bích"
    assert (await desk.act("receiver", code, "receive")).status_code == 200
    answer = await desk.get("receiver", f"/api/v1/dossiers/{code}/forms/receipt.pdf")
    assert answer.status_code == 200, answer.text
    text = _text(answer.content)
    assert "Trần Văn Cường" in text
    assert "Người khai hộ: Nguyễn Thị Bích" in text
    assert "Quan hệ với người được khai hộ: Con" in text
    assert "Địa chỉ: Tổ 5, phường Đức Xuân" in text


async def test_an_administrator_edits_a_year_and_announced_dates_stay(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted(processing_days=1)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    due = datetime.fromisoformat((await desk.act("receiver", code, "receive")).json()["due_at"])
    due_day = due.astimezone(VIETNAM).date()
    year = due_day.year
    current = (await desk.get("admin", f"/api/v1/calendar/{year}")).json()
    assert current["revision"] == 1
    assert current["entries"]
    assert (await desk.get("receiver", f"/api/v1/calendar/{year}")).status_code == 403

    # The calendars in force were published when the service started, each year with its
    # revision, so intake counts the citizen's working days left from the same days.
    (at_start,) = await calendars_published(workflow)
    assert {y.year: y.revision for y in at_start.years}[year] == 1
    entries = [*current["entries"], {"day": due_day.isoformat(), "kind": "holiday",
                                     "name": "Nghỉ đột xuất"}]  # fmt: skip
    edit = {"source": "Thông báo thử nghiệm", "entries": entries}
    url = f"/api/v1/calendar/{year}"
    async with workflow.client() as client:
        # The announced due date falls on the new holiday: refused until confirmed.
        unconfirmed = await client.put(url, headers=desk.auth["admin"], json=edit)
        saved = await client.put(url, headers=desk.auth["admin"], json={**edit, "confirm": True})
        bad = await client.put(
            url, headers=desk.auth["admin"],
            json={"source": "x", "entries": [{"day": f"{year}-03-03", "kind": "swapped_working_day",
                                              "name": "Không phải cuối tuần"}]},
        )  # fmt: skip
        # Emptying a year, or dropping a statutory holiday: refused, naming what is missing.
        emptied = await client.put(
            "/api/v1/calendar/2025", headers=desk.auth["admin"],
            json={"source": "x", "entries": [], "confirm": True},
        )  # fmt: skip
        shipped = (await client.get("/api/v1/calendar/2025", headers=desk.auth["admin"])).json()
        no_30_4 = [e for e in shipped["entries"] if e["day"] != "2025-04-30"]
        dropped = await client.put(
            "/api/v1/calendar/2025", headers=desk.auth["admin"],
            json={"source": "x", "entries": no_30_4, "confirm": True},
        )  # fmt: skip
        # A past day changed (2025 is over): confirmation needed, then accepted.
        renamed = [{**e, "kind": "half_day", "half": "afternoon"} if e["day"] == "2025-04-07"
                   else e for e in shipped["entries"]]  # fmt: skip
        past = await client.put("/api/v1/calendar/2025", headers=desk.auth["admin"],
                                json={"source": "Sửa lịch 2025", "entries": renamed})  # fmt: skip
        edits = await client.get(f"{url}/edits", headers=desk.auth["admin"])
        by_receiver = await client.get(f"{url}/edits", headers=desk.auth["receiver"])
    assert unconfirmed.status_code == 409, unconfirmed.text
    assert unconfirmed.headers["content-type"] == "application/problem+json"
    assert f"{due_day:%d/%m/%Y}" in unconfirmed.json()["detail"]
    assert unconfirmed.json()["announced_days"] == [due_day.isoformat()]
    assert saved.status_code == 200, saved.text
    assert saved.json()["revision"] == 2
    assert saved.json()["announced_due_dates_on_days_off"] >= 1
    assert saved.json()["changed_days"] == [due_day.isoformat()]
    assert bad.status_code == 422
    assert bad.json()["errors"]
    assert emptied.status_code == 422, emptied.text
    assert "01/01/2025" in emptied.json()["detail"]
    assert {e["field"] for e in emptied.json()["errors"]} == {"entries"}
    assert len(emptied.json()["errors"]) == 5  # no entry at all, and each of the four days
    assert dropped.status_code == 422
    assert dropped.json()["detail"] == "Thiếu ngày nghỉ lễ 30/04/2025 (Ngày Chiến thắng)."
    assert past.status_code == 409
    assert past.json()["past_days"] == ["2025-04-07"]
    # The audit: who, when, what; the refused edits left no trace and changed nothing.
    assert edits.status_code == 200, edits.text
    (edit_row,) = edits.json()["items"]
    assert edit_row["revision"] == 2
    assert edit_row["officer"]
    assert edit_row["confirmed"] is True
    assert edit_row["announced_days"] == [due_day.isoformat()]
    assert edit_row["changes"] == [{"change": "added", "day": due_day.isoformat(),
                                    "kind": "holiday", "name": "Nghỉ đột xuất", "half": None,
                                    "agency_code": None}]  # fmt: skip
    assert by_receiver.status_code == 403
    async with workflow.client() as client:
        still = (await client.get("/api/v1/calendar/2025", headers=desk.auth["admin"])).json()
    assert still["revision"] == shipped["revision"]
    async with workflow.runtime.db.transaction() as session:
        assert await session.scalar(select(cases.c.due_at).where(cases.c.code == code)) == due
    # The accepted edit alone was published again, with the new day and revision.
    (_, after_edit) = await calendars_published(workflow)
    (edited,) = [y for y in after_edit.years if y.year == year]
    assert edited.revision == 2
    assert due_day in {e.day for e in edited.entries if e.kind == "holiday"}


async def calendars_published(service: ServiceUnderTest) -> list[ev.CalendarPublished]:
    async with service.runtime.db.transaction() as session:
        rows = await session.scalars(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == "calendar.published")
            .order_by(outbox.c.id)
        )
        return [Envelope.model_validate(r).payload_as(ev.CalendarPublished) for r in rows]


async def test_the_preview_answers_from_the_same_engine(workflow: ServiceUnderTest) -> None:
    await workflow.publish(catalogue())
    dossier = submitted(processing_days=3)
    await arrived(workflow, dossier)
    received_at = datetime(2025, 8, 29, 15, 1, tzinfo=VIETNAM)
    async with workflow.client() as client:
        answer = await client.get(
            "/api/v1/deadlines/preview",
            params={"agency_code": BAC_KAN, "procedure_code": "1.004194",
                    "received_at": received_at.isoformat()},
        )  # fmt: skip
        unknown = await client.get(
            "/api/v1/deadlines/preview", params={"agency_code": BAC_KAN, "procedure_code": "x"}
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert datetime.fromisoformat(body["counted_from"]) == datetime(2025, 9, 3, 7, tzinfo=VIETNAM)
    assert datetime.fromisoformat(body["due_at"]) == datetime(2025, 9, 5, 17, tzinfo=VIETNAM)
    assert unknown.status_code == 404


async def test_due_soon_and_overdue_are_announced_once_per_deadline_version(
    start_workflow: StartWorkflow,
) -> None:
    workflow = await start_workflow(timer_poll_seconds=0.1)
    desk = await Desk(workflow).sign_in()
    dossier = submitted(processing_days=2)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    await desk.act("receiver", code, "receive")
    await desk.act("receiver", code, "assign", json={"officer": "bk.xuly"})
    # Bring the deadline into the past, as time would: the timers fire on their next pass.
    async with workflow.runtime.db.transaction() as session:
        past = datetime.now(UTC) - timedelta(minutes=1)
        await session.execute(timers.update().values(fire_at=past))
        await session.execute(cases.update().where(cases.c.code == code).values(due_at=past))

    async def announced() -> list[str] | None:
        kinds = [e.type for e in await emitted(workflow, code) if e.type in ALERTS]
        return kinds if len(kinds) == 2 else None

    kinds = await eventually(announced, timeout=10, what="both announcements")
    assert sorted(kinds) == ["dossier.due_soon", "dossier.overdue"]
    overdue = next(e for e in await emitted(workflow, code) if e.type == "dossier.overdue")
    data = overdue.payload_as(ev.DossierOverdue)
    assert {o.name for o in data.officers} == {"Nông Văn Minh", "Triệu Đức Thắng"}
    assert all(c.email for c in data.officer_contacts)

    async def all_fired() -> bool:
        async with workflow.runtime.db.transaction() as session:
            pending = await session.scalar(
                select(func.count()).select_from(timers).where(timers.c.fired_at.is_(None))
            )
        return pending == 0

    await eventually(all_fired, timeout=10, what="the timers to be marked fired")
    # More passes announce nothing more.
    from workflow.services.timers import fire_due_timers

    assert await fire_due_timers(workflow.runtime.db, workflow.runtime.outbox) == 0
    assert len([e for e in await emitted(workflow, code) if e.type in ALERTS]) == 2
    detail = (await desk.get("receiver", f"/api/v1/dossiers/{code}")).json()
    assert detail["overdue"] is True
    assert detail["working_days_left"] <= 0
    listed = (await desk.get("receiver", "/api/v1/dossiers", params={"overdue": "true"})).json()
    assert [d["code"] for d in listed["items"]] == [code]


ALERTS = {"dossier.due_soon", "dossier.overdue"}


async def test_an_agency_keeps_its_own_office_hours(workflow: ServiceUnderTest) -> None:
    desk = await Desk(workflow).sign_in()
    other = await Desk(workflow, SOC_TRANG).sign_in()
    await workflow.publish(catalogue())
    await arrived(workflow, submitted(processing_days=1))
    path = f"/api/v1/agencies/{BAC_KAN}/office-hours"
    async with workflow.client() as client:
        default = (await client.get(path, headers=desk.auth["admin"])).json()
        bad = await client.put(
            path,
            headers=desk.auth["admin"],
            json={"periods": [["07:30", "11:30"], ["13:00", "16:00"]]},
        )
        saved = await client.put(
            path,
            headers=desk.auth["admin"],
            json={"periods": [["07:30", "11:30"], ["13:00", "17:00"]]},
        )
        foreign = await client.put(path, headers=other.auth["admin"], json={"periods": None})
        preview = await client.get(
            "/api/v1/deadlines/preview",
            params={"agency_code": BAC_KAN, "procedure_code": "1.004194",
                    "received_at": "2025-03-10T12:45:00+07:00"},
        )  # fmt: skip
    assert default["periods"] == [["07:00", "11:30"], ["13:30", "17:00"]]
    assert bad.status_code == 422
    assert foreign.status_code == 404
    assert saved.json()["own"] is True
    # 12:45 is in this agency's lunch break until 13:00; three days of its hours later:
    # 4 h on Monday, 8 on Tuesday and Wednesday, Thursday's 07:30-11:30 morning.
    counted = datetime.fromisoformat(preview.json()["counted_from"])
    assert counted == datetime(2025, 3, 10, 13, 0, tzinfo=VIETNAM)
    assert datetime.fromisoformat(preview.json()["due_at"]) == datetime(
        2025, 3, 13, 11, 30, tzinfo=VIETNAM
    )
