"""Synchronisation with the National Public Service Portal, on the real database, broker
and object store, against the stand-in endpoint running as its own process: every change
of national status sent once in effect, in order per dossier, through failures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.workflow.tests.conftest import StartWorkflow
from services.workflow.tests.integration.support import (
    PDF,
    SOC_TRANG,
    Desk,
    arrived,
    submitted,
    supplemented,
    sync_events,
)
from shared.testing.infra import eventually
from shared.testing.national import NationalServer
from shared.testing.service import ServiceUnderTest
from workflow.services import sync

pytestmark = pytest.mark.integration


async def _start(start_workflow: StartWorkflow, server: NationalServer) -> ServiceUnderTest:
    return await start_workflow(
        national_url=server.url,
        national_retry_base_seconds=0.5,
        national_retry_max_seconds=2.0,
        national_poll_seconds=0.1,
        national_timeout_seconds=1.0,
    )


async def _received(server: NationalServer, code: str) -> dict[str, Any]:
    async with server.client() as client:
        answer = await client.get("/received", params={"ma_ho_so": code})
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def _control(server: NationalServer, **values: Any) -> dict[str, Any]:
    async with server.client() as client:
        answer = await client.post("/control", json=values)
    body: dict[str, Any] = answer.json()
    return body


async def _until_received(server: NationalServer, code: str, count: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = (await _received(server, code))["items"]
        return items if len(items) >= count else None

    return await eventually(enough, timeout=30, what=f"{count} records of {code} at the portal")


def settled_of(desk: Desk, code: str) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    """A probe: the dossier's sync state once nothing is pending."""

    async def settled() -> dict[str, Any] | None:
        body: dict[str, Any] = (await desk.get("receiver", f"/api/v1/dossiers/{code}/sync")).json()
        return body if body["pending"] == 0 else None

    return settled


def _failures(reason: str) -> float:
    value = REGISTRY.get_sample_value("workflow_national_sync_failures_total", {"reason": reason})
    return value or 0.0


async def test_every_national_status_reaches_the_portal_in_order_through_failures(
    start_workflow: StartWorkflow, national_server: NationalServer
) -> None:
    # The portal fails the first two attempts: the registration waits, backing off, and
    # the records written meanwhile wait behind it.
    await _control(national_server, fail_next=2)
    unavailable_before = _failures("unavailable")
    workflow = await _start(start_workflow, national_server)
    desk = await Desk(workflow).sign_in()
    dossier = submitted(fee_vnd=15000)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)

    assert (await desk.act("receiver", code, "receive")).status_code == 200
    asked = await desk.act(
        "receiver", code, "request-supplement",
        json={"items": [{"description": "Thiếu xác nhận của chủ hộ"}]},
    )  # fmt: skip
    assert asked.status_code == 200
    await arrived(workflow, supplemented(dossier), "received")
    assert (
        await desk.act("receiver", code, "assign", json={"officer": "bk.xuly"})
    ).status_code == 200
    result = await desk.act(
        "processor", code, "result",
        data={"summary": "Đã đăng ký tạm trú."},
        files={"file": ("ket-qua.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    assert result.status_code == 200, result.text
    assert (await desk.act("processor", code, "submit-for-approval")).status_code == 200
    assert (await desk.act("approver", code, "approve")).status_code == 200
    # The fee is paid at the desk: the approved dossier waits for it (code 6).
    fee = {"amount_vnd": 15000, "receipt_no": "BL-0001"}
    assert (await desk.act("receiver", code, "fee", json=fee)).status_code == 200
    returned = await desk.act("receiver", code, "return-result", json={"originals_verified": True})
    assert returned.status_code == 200, returned.text

    items = await _until_received(national_server, code, 7)
    assert [i["TrangThaiHoSo"] for i in items] == [1, 2, 5, 4, 6, 9, 10]
    records = [i["record"] for i in items]
    assert [r["SoThuTu"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert len({r["MaBanGhi"] for r in records}) == 7
    registered, received, supplement, resumed, awaiting, processed, returned_record = records
    assert awaiting["PhiLePhi"] == [{"TenPhiLePhi": "Lệ phí", "MucPhi": 15000}]
    assert awaiting["NgayKetThucXuLy"]
    assert registered["MaHoSo"] == code
    assert registered["MaTTHC"] == "1.004194"
    assert registered["KenhThucHien"] == 2
    assert registered["SoGiayToChuHoSo"] == "001190012345"
    assert registered["PhiLePhi"] == [{"TenPhiLePhi": "Lệ phí", "MucPhi": 15000}]
    assert registered["NgayTiepNhan"] is None
    # Each date appears with the step that sets it, as yyyyMMddHHmmss in Vietnam time.
    assert received["NgayHenTra"]
    assert len(received["NgayTiepNhan"]) == 14
    assert received["NgayTiepNhan"].isdigit()
    assert received["NgayYeuCauBoSung"] is None
    assert supplement["NgayYeuCauBoSung"] >= received["NgayTiepNhan"]
    assert resumed["NgayKetThucXuLy"] is None
    assert processed["NgayKetThucXuLy"] >= supplement["NgayYeuCauBoSung"]
    assert processed["NgayTra"] is None
    assert returned_record["NgayTra"] >= processed["NgayKetThucXuLy"]
    assert returned_record["DonViXuLy"] == "Công an tỉnh Bắc Kạn"
    assert [s["NoiDungXuLy"] for s in returned_record["QuaTrinhXuLy"]] == [
        "Nộp hồ sơ trực tuyến", "Tiếp nhận hồ sơ", "Yêu cầu bổ sung hồ sơ",
        "Công dân bổ sung hồ sơ", "Phân công xử lý", "Ghi nhận kết quả xử lý",
        "Trình phê duyệt", "Phê duyệt kết quả", "Nộp phí, lệ phí tại Bộ phận Một cửa",
        "Trả kết quả",
    ]  # fmt: skip
    assert _failures("unavailable") - unavailable_before == 2

    state = await desk.get("receiver", f"/api/v1/dossiers/{code}/sync")
    assert state.status_code == 200
    body = state.json()
    assert body["last_status_code"] == 10
    assert body["pending"] == 0
    assert body["last_error"] is None
    assert body["synced"] is True
    assert body["last_sent_at"]
    # Scoped as every dossier route: another province's officer does not see it.
    other = await Desk(workflow, SOC_TRANG).sign_in()
    assert (await other.get("receiver", f"/api/v1/dossiers/{code}/sync")).status_code == 404
    assert (await desk.get("receiver", "/api/v1/dossiers/unknown/sync")).status_code == 404
    async with workflow.client() as client:
        assert (await client.get(f"/api/v1/dossiers/{code}/sync")).status_code == 401

    # Nothing sent twice in effect; one token served every record (cached until expiry).
    assert (await _received(national_server, code))["duplicates"] == 0
    assert (await _control(national_server))["tokens_issued"] == 1

    # Each record written and each accepted announced, for the synchronisation rate.
    announced = [(e.type, e.data["record_sequence"], e.data["status_code"])
                 for e in await sync_events(workflow, code)]  # fmt: skip
    queued = [(n, c) for t, n, c in announced if t == "dossier.sync_queued"]
    accepted = [(n, c) for t, n, c in announced if t == "dossier.synced"]
    assert queued == accepted == list(enumerate([1, 2, 5, 4, 6, 9, 10], start=1))
    # The national portal's view of the dossier, not the citizen's identity.
    assert all("001190012345" not in str(e.data) for e in await sync_events(workflow, code))


async def test_an_answer_lost_on_the_way_is_sent_again_and_known_as_a_duplicate(
    start_workflow: StartWorkflow, national_server: NationalServer
) -> None:
    workflow = await _start(start_workflow, national_server)
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    await _until_received(national_server, code, 1)

    # The portal records the reception but answers after the client gave up.
    await _control(national_server, timeout_next=1, timeout_seconds=2.0)
    assert (await desk.act("receiver", code, "receive")).status_code == 200

    async def resent() -> bool:
        return (await _received(national_server, code))["duplicates"] >= 1

    await eventually(resent, timeout=30, what="the reception sent again")
    items = (await _received(national_server, code))["items"]
    assert [i["TrangThaiHoSo"] for i in items] == [1, 2]

    body = await eventually(settled_of(desk, code), timeout=30, what="the sync state to settle")
    assert body["last_status_code"] == 2


async def test_a_failing_portal_shows_in_the_sync_state_until_it_recovers(
    start_workflow: StartWorkflow, national_server: NationalServer
) -> None:
    await _control(national_server, fail_next=1000)
    workflow = await _start(start_workflow, national_server)
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    assert (await desk.act("receiver", code, "receive")).status_code == 200

    async def failing() -> dict[str, Any] | None:
        body: dict[str, Any] = (await desk.get("receiver", f"/api/v1/dossiers/{code}/sync")).json()
        return body if body["last_error"] else None

    body = await eventually(failing, timeout=30, what="the failure in the sync state")
    assert body["pending"] == 2
    assert body["last_status_code"] is None
    assert "503" in body["last_error"]
    # Personal data never in the operators' view of a failure.
    assert "001190012345" not in body["last_error"]
    assert (await _received(national_server, code))["items"] == []
    # Decision 766's counts: one dossier with records, none synced yet.
    counts = await sync.measure(workflow.runtime.db)
    assert (counts["all"], counts["synced"], counts["pending_records"]) == (1, 0, 2)
    assert REGISTRY.get_sample_value("workflow_national_sync_dossiers", {"state": "synced"}) == 0

    await _control(national_server, fail_next=0)
    items = await _until_received(national_server, code, 2)
    assert [i["TrangThaiHoSo"] for i in items] == [1, 2]
    await eventually(settled_of(desk, code), timeout=30, what="the sync state to settle")
    counts = await sync.measure(workflow.runtime.db)
    assert (counts["all"], counts["synced"], counts["pending_records"]) == (1, 1, 0)
