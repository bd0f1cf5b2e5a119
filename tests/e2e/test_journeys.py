"""The journeys of a dossier end to end, over HTTP only, on the four services as processes
(the e2e stack), with the real PostgreSQL, RabbitMQ, object store and SMTP server and
notify's development SMS provider: the full journey with a supplement by update code,
a rejection, a withdrawal, an apology with a new appointment, and a dossier whose overdue
timer fires. Each is checked where its people look: the citizen's timeline (owner's view
and public tracking), the SMS and e-mails on the channels the citizen chose, the
officer's view, and the processing report.

The journeys use Sóc Trăng's units, one procedure each, so that each has a row of its
own in the report (`group_by=procedure`) whatever else the stack has seen."""

from __future__ import annotations

import ctypes.util
import math
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.contracts.events import VIETNAM
from shared.testing.infra import eventually
from shared.testing.processes import ServiceProcess, start_service
from shared.testing.smtp import Mailbox
from tests.e2e.journeys import (
    PDF,
    PNG,
    WAIT,
    Citizen,
    Portal,
    columns,
    local_date,
    text_of,
    today,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PROVINCE = "G01.394.000.000"  # Công an tỉnh Sóc Trăng: st.tiepnhan, st.xuly, st.lanhdao
CITY = "G01.394.941.000"  # Công an thành phố Sóc Trăng: stc.tiepnhan, stc.xuly, stc.lanhdao
RESULT = b"%PDF-1.7\n" + b"1" * 4096 + b"\nstartxref\n9\n%%EOF\n"
CONSENT = b"%PDF-1.7\n" + b"2" * 3072 + b"\nstartxref\n9\n%%EOF\n"


@pytest.fixture(scope="module")
async def portal(stack: dict[str, ServiceProcess], mailbox: Mailbox) -> Portal:
    return Portal(stack, mailbox)


def information_request(citizen: Citizen) -> dict[str, Any]:
    """The declaration of the procedures 1.990104 to 1.990107 (own information)."""
    return {
        "requester_name": citizen.full_name, "requester_phone": citizen.phone,
        "subject_full_name": citizen.full_name, "subject_personal_id": citizen.id_number,
        "requested_information": ["Nơi thường trú"], "purpose": "Bổ sung hồ sơ xin việc",
    }  # fmt: skip


async def download(url: str) -> bytes:
    async with httpx.AsyncClient(timeout=20, follow_redirects=True) as client:
        answer = await client.get(url)
        assert answer.status_code == 200, answer.text
        return answer.content


async def test_full_journey_with_a_supplement_by_update_code(portal: Portal) -> None:
    citizen = await portal.citizen("Thạch Thị Sa Ly")
    submitted = await portal.submit(
        citizen, procedure="1.990104", agency=PROVINCE, case_code="own_information",
        form=information_request(citizen), notify_via=["sms", "email"],
        files=[("TP1", "de-nghi.pdf", PDF, "application/pdf"),
               ("TP2", "dong-y.png", PNG, "image/png")],
    )  # fmt: skip
    code = submitted["code"]
    # The update code comes by SMS, the one the answer showed once.
    texts = await portal.sms_about(citizen.phone, code, "Ma cap nhat")
    assert f"Ma cap nhat: {submitted['update_code']}" in texts[0]
    update_code = submitted["update_code"]

    # The desk sees both files, readable from the store by their links.
    case = await portal.arrived("st.tiepnhan", code)
    assert sorted(f["filename"] for f in case["attachments"]) == ["de-nghi.pdf", "dong-y.png"]
    by_name = {f["filename"]: f for f in case["attachments"]}
    assert await download(by_name["de-nghi.pdf"]["download_url"]) == PDF
    received = await portal.act("st.tiepnhan", code, "receive")
    assert received["status"] == "received"
    due_at = datetime.fromisoformat(received["due_at"])
    await portal.sms_about(citizen.phone, code, "tiep nhan", f"ngay {local_date(due_at)}")

    asked = await portal.act("st.tiepnhan", code, "request-supplement", {
        "items": [{"document_code": "TP2",
                   "description": "Văn bản đồng ý có chữ ký của công dân, bản PDF rõ nét"}],
        "note": "Ảnh chụp không đọc được chữ ký.",
    })  # fmt: skip
    assert asked["status"] == "supplement_requested"
    await portal.tracked(code, "supplement_requested")
    own = await portal.own(citizen, code)
    assert own["supplement_request"]["items"][0]["document_code"] == "TP2"
    await portal.sms_about(citizen.phone, code, "can bo sung")
    await portal.mail_about(citizen.email, code, "cần bổ sung")

    # Anyone holding the update code supplements, without signing in.
    anonymous = await portal.call(
        "intake", "POST", f"/api/v1/dossiers/{code}/supplement",
        headers={"X-Update-Code": update_code},
        data={"document_code": "TP2", "note": "Gửi lại văn bản đồng ý bản PDF."},
        files={"file": ("dong-y-ky.pdf", CONSENT, "application/pdf")},
    )  # fmt: skip
    assert anonymous.status_code in (200, 201), anonymous.text
    resumed = await portal.case_status("st.tiepnhan", code, "received")
    assert resumed["supplement_rounds"][0]["supplemented_at"] is not None
    supplied = [f for f in resumed["attachments"] if f["filename"] == "dong-y-ky.pdf"]
    assert len(supplied) == 1
    assert await download(supplied[0]["download_url"]) == CONSENT
    await portal.tracked(code, "received")

    assigned = await portal.act("st.tiepnhan", code, "assign", {"officer": "st.xuly"})
    assert assigned["status"] == "in_progress"
    recorded = await portal.call(
        "workflow", "POST", f"/api/v1/dossiers/{code}/result",
        headers=await portal.officer("st.xuly"),
        data={"summary": "Cung cấp thông tin nơi thường trú"},
        files={"file": ("ket-qua.pdf", RESULT, "application/pdf")},
    )  # fmt: skip
    assert recorded.status_code in (200, 201), recorded.text
    assert (await portal.act("st.xuly", code, "submit-for-approval"))["status"] == (
        "pending_approval"
    )
    assert (await portal.act("st.lanhdao", code, "approve"))["status"] == "result_ready"
    await portal.tracked(code, "result_ready")
    # The e-result is the owner's, from intake.
    result = await portal.call(
        "intake", "GET", f"/api/v1/dossiers/{code}/result", headers=citizen.headers,
        follow_redirects=True,
    )  # fmt: skip
    assert result.status_code == 200, result.text
    assert result.content == RESULT
    returned = await portal.act("st.tiepnhan", code, "return-result", {"originals_verified": True})
    assert returned["status"] == "returned"

    public = await portal.tracked(code, "returned")
    assert public["resolved_at"] is not None
    assert citizen.id_number not in str(public)
    assert citizen.phone not in str(public)
    timeline = await portal.timeline(
        citizen, code, "submitted", "received", "supplement_requested", "in_progress",
        "pending_approval", "result_ready", "returned",
    )  # fmt: skip
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    officer_view = await portal.case("st.tiepnhan", code)
    assert officer_view["result"]["judgement"] == "early"
    assert [h["to_status"] for h in officer_view["history"]][-4:] == [
        "in_progress", "pending_approval", "result_ready", "returned",
    ]  # fmt: skip

    # Both channels chosen, each told of every step the citizen hears of.
    steps = ("Ma cap nhat", "tiep nhan", "can bo sung", "da co ket qua", "da tra ket qua")
    await portal.sms_about(citizen.phone, code, *steps)
    await portal.mail_about(
        citizen.email, code,
        "Đã nộp hồ sơ", "đã được tiếp nhận", "cần bổ sung", "đã có kết quả", "Đã trả kết quả",
    )  # fmt: skip
    deliveries = await portal.deliveries("st.quantri", code)
    assert {d["channel"] for d in deliveries if d["recipient"] == citizen.phone} == {"sms"}
    assert {d["channel"] for d in deliveries if d["recipient"] == citizen.email} == {"email"}

    row = await portal.counted(PROVINCE, "1.990104", {"resolved": 1})
    assert columns(row) == {
        "received": 1, "received_online": 1, "total": 1, "resolved": 1, "resolved_early": 1,
    }  # fmt: skip


async def test_rejection_told_by_email_only(portal: Portal) -> None:
    citizen = await portal.citizen("Lâm Thị Kim Thoa")
    submitted = await portal.submit(
        citizen, procedure="1.990106", agency=PROVINCE, case_code="own_information",
        form=information_request(citizen), notify_via=["email"],
    )  # fmt: skip
    code = submitted["code"]
    await portal.arrived("st.tiepnhan", code)
    await portal.act("st.tiepnhan", code, "receive")
    reason = "Người đề nghị không thuộc đối tượng được khai thác thông tin."
    rejected = await portal.act("st.lanhdao", code, "reject", {"reason": reason})
    assert rejected["status"] == "rejected"

    public = await portal.tracked(code, "rejected")
    assert public["resolved_at"] is not None
    timeline = await portal.timeline(citizen, code, "submitted", "received", "rejected")
    assert any(e["status"] == "rejected" and reason in e["note"] for e in timeline)
    mails = await portal.mail_about(citizen.email, code, "không được tiếp nhận, giải quyết")
    assert any(reason in text_of(m) for m in mails)
    # The citizen chose e-mail: no delivery of this dossier by SMS, to anyone.
    deliveries = await portal.deliveries("st.quantri", code)
    assert deliveries
    assert {d["channel"] for d in deliveries} == {"email"}
    assert not [t for t in await portal.sms(citizen.phone) if code in t]
    history = (await portal.case("st.lanhdao", code))["history"]
    assert history[-1]["to_status"] == "rejected"
    assert history[-1]["note"] == reason

    row = await portal.counted(PROVINCE, "1.990106", {"returned_rejected": 1})
    assert columns(row) == {
        "received": 1, "received_online": 1, "total": 1, "returned_rejected": 1,
    }  # fmt: skip


async def test_withdrawal_by_the_citizen(portal: Portal) -> None:
    citizen = await portal.citizen("Sơn Văn Thành")
    submitted = await portal.submit(
        citizen, procedure="1.990105", agency=CITY, case_code="own_information",
        form=information_request(citizen), notify_via=["sms"],
    )  # fmt: skip
    code = submitted["code"]
    await portal.arrived("stc.tiepnhan", code)
    await portal.act("stc.tiepnhan", code, "receive")
    await portal.tracked(code, "received")
    withdrawn = await portal.ok(
        "intake", "POST", f"/api/v1/dossiers/{code}/withdraw",
        headers={**citizen.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"reason": "Đã có thông tin từ nguồn khác."},
    )  # fmt: skip
    assert withdrawn["status"] == "withdrawn"

    # The officers see it withdrawn and may no longer act on it.
    await portal.case_status("stc.tiepnhan", code, "withdrawn")
    refused = await portal.call(
        "workflow", "POST", f"/api/v1/dossiers/{code}/assign",
        headers=await portal.officer("stc.tiepnhan"), json={"officer": "stc.xuly"},
    )  # fmt: skip
    assert refused.status_code == 409, refused.text
    await portal.tracked(code, "withdrawn")
    await portal.timeline(citizen, code, "submitted", "received", "withdrawn")
    await portal.sms_about(citizen.phone, code, "da duoc rut")
    deliveries = await portal.deliveries("st.quantri", code)
    assert {d["channel"] for d in deliveries} == {"sms"}
    assert not [m for m in portal.mailbox.to(citizen.email) if code in str(m["Subject"])]

    row = await portal.counted(CITY, "1.990105", {"withdrawn": 1})
    assert columns(row) == {"received": 1, "received_online": 1, "total": 1, "withdrawn": 1}


async def test_apology_and_a_new_appointment(portal: Portal) -> None:
    citizen = await portal.citizen("Kim Văn Sóc")
    submitted = await portal.submit(
        citizen, procedure="1.990102", agency=PROVINCE, notify_via=["sms", "email"],
        form={"full_name": citizen.full_name, "date_of_birth": "1990-05-17", "sex": "Nam",
              "personal_id": citizen.id_number, "phone": citizen.phone,
              "old_id_number": "365123456", "purpose": "Xác nhận để làm thủ tục ngân hàng"},
        files=[("TP1", "can-cuoc.pdf", PDF, "application/pdf")],
    )  # fmt: skip
    code = submitted["code"]
    await portal.arrived("st.tiepnhan", code)
    received = await portal.act("st.tiepnhan", code, "receive")
    original = datetime.fromisoformat(received["due_at"])
    await portal.act("st.tiepnhan", code, "assign", {"officer": "st.xuly"})
    # A later working day, as the deadline rules see it: the appointment of a dossier
    # received at the original one.
    preview = await portal.ok("workflow", "GET", "/api/v1/deadlines/preview", params={
        "agency_code": PROVINCE, "procedure_code": "1.990102", "received_at": original.isoformat(),
    })  # fmt: skip
    new_day = datetime.fromisoformat(preview["due_at"]).date()
    reason = "Cần xác minh thông tin Chứng minh nhân dân cũ tại nơi cấp."
    extended = await portal.act(
        "st.lanhdao",
        code,
        "extend-deadline",
        {"new_due_date": new_day.isoformat(), "reason": reason},
    )
    new_due = datetime.fromisoformat(extended["due_at"])
    assert local_date(new_due) == new_day.strftime("%d/%m/%Y")
    assert new_due > original
    assert datetime.fromisoformat(extended["original_due_at"]) == original

    # The letter itself, signed by the leader who extended.
    letter = await portal.call(
        "workflow", "GET", f"/api/v1/dossiers/{code}/forms/apology.pdf",
        headers=await portal.officer("st.lanhdao"),
    )  # fmt: skip
    assert letter.status_code == 200, letter.text
    assert letter.headers["content-type"] == "application/pdf"
    assert letter.content[:5] == b"%PDF-"
    case = await portal.case("st.tiepnhan", code)
    assert datetime.fromisoformat(case["due_at"]) == new_due
    assert datetime.fromisoformat(case["original_due_at"]) == original

    # The citizen reads the new date in the timeline, on the tracking page and by SMS.
    timeline = await portal.timeline(citizen, code, "submitted", "received", "in_progress")

    async def apologised() -> dict[str, Any] | None:
        own = await portal.own(citizen, code)
        noted = any("xin lỗi và hẹn lại" in e["note"] for e in own["timeline"])
        return own if noted and datetime.fromisoformat(own["due_at"]) == new_due else None

    await eventually(apologised, timeout=WAIT, what="the apology in the citizen's timeline")
    assert timeline
    public = await portal.tracked(code, "in_progress")
    assert datetime.fromisoformat(public["due_at"]) == new_due
    texts = await portal.sms_about(
        citizen.phone, code, "xin loi", f"Hen lai ngay {local_date(new_due)}"
    )
    assert any(local_date(new_due) in t for t in texts)
    mails = await portal.mail_about(citizen.email, code, "Thư xin lỗi và hẹn lại")
    letter_mail = next(m for m in mails if "xin lỗi" in str(m["Subject"]))
    body = text_of(letter_mail)
    assert local_date(original) in body
    assert local_date(new_due) in body

    recorded = await portal.call(
        "workflow", "POST", f"/api/v1/dossiers/{code}/result",
        headers=await portal.officer("st.xuly"),
        files={"summary": (None, "Đã xác nhận số Chứng minh nhân dân cũ")},  # no file: paper
    )  # fmt: skip
    assert recorded.status_code in (200, 201), recorded.text
    await portal.act("st.xuly", code, "submit-for-approval")
    await portal.act("st.lanhdao", code, "approve")
    await portal.act("st.tiepnhan", code, "return-result", {"originals_verified": True})
    await portal.tracked(code, "returned")
    # Judged against the original appointment (DOMAIN.md), resolved before it.
    judged = await portal.case("st.tiepnhan", code)
    assert judged["result"]["judgement"] == "early"
    row = await portal.counted(PROVINCE, "1.990102", {"resolved": 1})
    assert columns(row) == {
        "received": 1, "received_online": 1, "total": 1, "resolved": 1, "resolved_early": 1,
    }  # fmt: skip


def libfaketime() -> Path | None:
    for candidate in (
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/local/lib/faketime/libfaketimeMT.so.1",
    ):
        if Path(candidate).exists():
            return Path(candidate)
    found = ctypes.util.find_library("faketimeMT")
    return Path(found) if found else None


@pytest.fixture
async def workflow_ahead(
    stack: dict[str, ServiceProcess], portal: Portal, tmp_path: Path
) -> AsyncIterator[Any]:
    """Move workflow's clock `seconds` ahead, and start it again on the true clock after
    the test, so that the stack's other tests find it as it was.

    The timers compare `fire_at` with the process's own clock (`datetime.now`), so
    libfaketime under the process is enough. workflow starts under it on the true clock
    ("+0" in the clock file) and jumps once it is ready: started ahead, its signed
    requests to the object store would be refused at start-up (S3 allows a quarter of an
    hour of skew), and a running workflow needs the store for nothing the timers do."""
    library = libfaketime()
    if library is None:
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    original = stack["workflow"]
    clock = tmp_path / "workflow-clock"
    clock.write_text("+0")

    async def restart(env: dict[str, str], name: str) -> None:
        stack["workflow"].stop()
        log = original.log.with_name(f"workflow-{name}.log")
        stack["workflow"] = await start_service("workflow", env, log, migrate=False)

    async def ahead(seconds: int) -> None:
        await restart({
            **original.env, "LD_PRELOAD": str(library),
            "FAKETIME_TIMESTAMP_FILE": str(clock), "FAKETIME_CACHE_DURATION": "1",
            "WORKFLOW_TIMER_POLL_SECONDS": "1",  # the timers' next look, not in 30 s
        }, "ahead")  # fmt: skip
        jump = clock.with_suffix(".new")
        jump.write_text(f"+{seconds}")
        jump.replace(clock)  # read whole or not at all
        portal.tokens.clear()  # those of the true clock have expired on the new one

    try:
        yield ahead
    finally:
        if stack["workflow"] is not original:
            await restart(original.env, "again")
            portal.tokens.clear()  # issued in what is now the future


async def test_overdue_dossier_its_timer_fires(portal: Portal, workflow_ahead: Any) -> None:
    citizen = await portal.citizen("Huỳnh Thị Mỹ Tiên")
    submitted = await portal.submit(
        citizen, procedure="1.990107", agency=CITY, case_code="own_information",
        form=information_request(citizen), notify_via=["sms"],
    )  # fmt: skip
    code = submitted["code"]
    await portal.arrived("stc.tiepnhan", code)
    received = await portal.act("stc.tiepnhan", code, "receive")
    due_at = datetime.fromisoformat(received["due_at"])
    await portal.sms_about(citizen.phone, code, "tiep nhan")
    # Open within its time today; overdue in a period that ends on its due day.
    due_day = due_at.astimezone(VIETNAM).date()
    row = await portal.counted(CITY, "1.990107", {"in_progress_in_time": 1})
    assert columns(row) == {"received": 1, "received_online": 1, "total": 1,
                            "in_progress_in_time": 1}  # fmt: skip
    assert (await portal.report_row(CITY, "1.990107", today(), due_day))["in_progress_overdue"] == 1
    receiver = {"phone": "0912000401", "email": "tiepnhan.tpsoctrang@example.vn"}
    leader = {"phone": "0912000403", "email": "lanhdao.tpsoctrang@example.vn"}
    assert not [t for t in await portal.sms(receiver["phone"]) if code in t]

    # An hour past the appointment, on workflow's clock: its due-soon and overdue timers
    # fire, to the desk (no processor assigned yet) and, once overdue, the leaders.
    ahead = math.ceil((due_at - datetime.now(UTC)).total_seconds()) + 3600
    await workflow_ahead(ahead)
    await portal.sms_about(receiver["phone"], code, "sap den han", "QUA HAN")
    await portal.sms_about(leader["phone"], code, "QUA HAN")
    await portal.mail_about(leader["email"], code, "[Quá hạn]")
    await portal.mail_about(receiver["email"], code, "[Sắp đến hạn]", "[Quá hạn]")
    case = await portal.case("stc.tiepnhan", code)
    assert case["overdue"] is True
    assert case["status"] == "received"
    listed = await portal.ok(
        "workflow", "GET", "/api/v1/dossiers", params={"overdue": "true"},
        headers=await portal.officer("stc.tiepnhan"),
    )  # fmt: skip
    assert code in [item["code"] for item in listed["items"]]
    # Officers' business: the citizen hears nothing of it, and the timeline stays.
    deliveries = await portal.deliveries("st.quantri", code)
    overdue = [d for d in deliveries if "overdue" in d["template"]]
    assert overdue
    assert citizen.phone not in {d["recipient"] for d in overdue}
    assert {d["recipient"] for d in deliveries if "due" in d["template"]} >= {
        receiver["phone"], receiver["email"], leader["phone"], leader["email"],
    }  # fmt: skip
    own = await portal.own(citizen, code)
    assert own["status"] == "received"
    assert datetime.fromisoformat(own["due_at"]) == due_at
    assert {e["status"] for e in own["timeline"]} == {"submitted", "received"}
    public = await portal.tracked(code, "received")
    assert datetime.fromisoformat(public["due_at"]) == due_at
