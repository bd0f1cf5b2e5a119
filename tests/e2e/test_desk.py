"""A paper dossier taken at the one-stop desk, across the four running services: the
receiver registers it in workflow (code and update code at once), the applicant, who has
no account, is told by SMS at the phone given at the desk and tracks it at intake,
supplements it with the update code, and the report counts it as received directly."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts.events import VIETNAM
from shared.testing.infra import eventually
from shared.testing.processes import ServiceProcess
from tests.e2e.journeys import get, post

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

# Công an tỉnh Sóc Trăng: the other e2e journeys count Bắc Kạn's dossiers.
AGENCY = "G01.394.000.000"
# A procedure no other end-to-end test uses in this unit: its report row is this test's alone.
PROCEDURE = "1.990112"
PDF = b"%PDF-1.7\n" + b"0" * 2048 + b"\nstartxref\n9\n%%EOF\n"


async def test_a_paper_dossier_flows_like_an_online_one(
    stack: dict[str, ServiceProcess],
) -> None:
    intake, workflow = stack["intake"].url, stack["workflow"].url
    notify, stats = stack["notify"].url, stack["stats"].url
    phone = f"09{uuid.uuid4().int % 10**8:08d}"
    officer_token = (
        await post(workflow, "/api/v1/auth/token",
                    data={"username": "st.tiepnhan", "password": "demo-officer-2026"})
    ).json()["access_token"]  # fmt: skip
    officer = {"Authorization": f"Bearer {officer_token}"}

    dossier = {
        "procedure_code": PROCEDURE,
        "applicant": {"kind": "citizen", "full_name": "Lâm Thị Mai", "id_number": "094190001234"},
        "form": {"requester_name": "Lâm Thị Mai", "requested_information": ["Nơi thường trú"]},
        "channel": "in_person",
        "notify_via": ["sms"],
        "phone": phone,
        "receive_now": True,
    }

    async def catalogued() -> bool:
        # workflow knows the unit once intake's catalogue has reached it: an unknown
        # procedure is then the only fault found (and nothing is registered).
        unknown = {**dossier, "procedure_code": "0.000000"}
        probe = await post(
            workflow, "/api/v1/counter/dossiers", headers=officer,
            files=[("dossier", (None, json.dumps(unknown), "application/json"))],
        )  # fmt: skip
        fields = [e["field"] for e in probe.json().get("errors", [])]
        return probe.status_code == 422 and fields == ["dossier.procedure_code"]

    await eventually(catalogued, timeout=30, what="the catalogue to reach workflow")
    registered = await post(
        workflow, "/api/v1/counter/dossiers", headers=officer,
        files=[("dossier", (None, json.dumps(dossier), "application/json")),
               ("document_code", (None, "TP1")), ("file", ("to-khai.pdf", PDF, "application/pdf"))],
    )  # fmt: skip
    assert registered.status_code == 201, registered.text
    code, update_code = registered.json()["code"], registered.json()["update_code"]
    assert registered.json()["status"] == "received"

    async def tracked(status: str) -> dict[str, Any] | None:
        answer = await get(intake, f"/api/v1/tracking/{code}")
        return (
            answer.json()
            if answer.status_code == 200 and answer.json()["status"] == status
            else None
        )

    public = await eventually(lambda: tracked("received"), timeout=30, what="tracking at intake")
    assert datetime.fromisoformat(public["due_at"]) == datetime.fromisoformat(
        registered.json()["due_at"]
    )
    assert phone not in str(public)

    async def texts() -> list[str]:
        box = await get(notify, "/api/v1/dev/sms", params={"phone": phone}, headers=officer)
        return [m["text"] for m in box.json()["items"]]

    async def told() -> bool:
        sent = await texts()
        receipt = any(code in t and update_code in t for t in sent)
        return receipt and any(code in t and "tiep nhan" in t and "Hen tra" in t for t in sent)

    await eventually(told, timeout=30, what="the receipt and the appointment by SMS")

    # Asked to supplement, the applicant does so with the update code, with no account.
    asked = await post(
        workflow, f"/api/v1/dossiers/{code}/request-supplement", headers=officer,
        json={"items": [{"document_code": "TP1", "description": "Tờ khai chưa ký"}]},
    )  # fmt: skip
    assert asked.status_code == 200, asked.text
    await eventually(lambda: tracked("supplement_requested"), timeout=30, what="the request")
    supplemented = await post(
        intake, f"/api/v1/dossiers/{code}/supplement", headers={"X-Update-Code": update_code},
        data={"document_code": "TP1"}, files=[("file", ("ky.pdf", PDF, "application/pdf"))],
    )  # fmt: skip
    assert supplemented.status_code == 200, supplemented.text

    async def resumed() -> bool:
        answer = await get(workflow, f"/api/v1/dossiers/{code}", headers=officer)
        return answer.json()["status"] == "received"

    await eventually(resumed, timeout=30, what="the supplement to reach the officers")

    today = datetime.now(UTC).astimezone(VIETNAM).date().isoformat()

    async def counted() -> bool:
        report = (
            await get(stats, "/api/v1/reports/processing",
                       params={"from": today, "to": today, "agency_code": AGENCY,
                               "group_by": "procedure"})
        ).json()  # fmt: skip
        rows = [r for r in report["rows"] if r["key"] == PROCEDURE]
        return bool(rows) and rows[0]["received_direct"] == 1 and rows[0]["received_online"] == 0

    await eventually(counted, timeout=30, what="the dossier counted as received directly")
