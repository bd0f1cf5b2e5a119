"""Every action × every role × own or other agency, checked on the server: a role that may
not act gets 403, another agency's dossier does not exist (404), and the right officer of
the right agency succeeds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.workflow.tests.integration.support import (
    BAC_KAN,
    PDF,
    SOC_TRANG,
    Desk,
    arrived,
    case_status,
    submitted,
)
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

ROLES = ("receiver", "processor", "approver", "admin")
STEPS: dict[str, tuple[str, dict[str, Any]]] = {
    "received": ("receive", {}),
    "in_progress": ("assign", {"json": {"officer": "bk.xuly"}}),
    "pending_approval": ("submit-for-approval", {}),
    "result_ready": ("approve", {}),
    "awaiting_fee": ("approve", {}),
}
PATH = ("submitted", "received", "in_progress", "pending_approval", "result_ready")


def _request(action: str, new_due_date: str) -> dict[str, Any]:
    requests: dict[str, dict[str, Any]] = {
        "receive": {},
        "request-supplement": {"json": {"items": [{"description": "Thiếu tờ khai"}]}},
        "reject": {"json": {"reason": "Không thuộc thẩm quyền"}},
        "assign": {"json": {"officer": "bk.xuly"}},
        "result": {"data": {"summary": "Đã xử lý"}, "files": {"file": ("kq.pdf", PDF)}},
        "submit-for-approval": {},
        "send-back": {"json": {"note": "Xem lại"}},
        "approve": {},
        "return-result": {"json": {"originals_verified": True}},
        "extend-deadline": {"json": {"new_due_date": new_due_date, "reason": "Cần xác minh"}},
        "fee": {"json": {"amount_vnd": 15000, "receipt_no": "BL-0001"}},
    }
    return requests[action]


# The action, the status it is taken from, and the roles that may take it (API.md).
MATRIX = [
    ("receive", "submitted", {"receiver"}),
    ("request-supplement", "received", {"receiver", "processor"}),
    ("reject", "received", {"receiver", "approver"}),
    ("assign", "received", {"receiver", "approver"}),
    ("result", "in_progress", {"processor"}),
    ("submit-for-approval", "in_progress", {"processor"}),
    ("send-back", "pending_approval", {"approver"}),
    ("approve", "pending_approval", {"approver"}),
    ("return-result", "result_ready", {"receiver"}),
    ("extend-deadline", "in_progress", {"approver"}),
    # The fee paid at the desk, recorded by the desk.
    ("fee", "awaiting_fee", {"receiver"}),
]


async def _case_in(workflow: ServiceUnderTest, desk: Desk, status: str) -> str:
    # A fee to be paid at the desk makes the approved dossier wait for it.
    waits = status == "awaiting_fee"
    dossier = submitted(processing_days=15, fee_vnd=15000 if waits else 0)
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    path = (*PATH[:-1], status) if waits else PATH
    for step in path[1 : path.index(status) + 1]:
        action, kwargs = STEPS[step]
        role = {"receive": "receiver", "assign": "receiver", "approve": "approver"}.get(
            action, "processor"
        )
        answer = await desk.act(role, code, action, **kwargs)
        assert answer.status_code == 200, answer.text
        if step == "in_progress":
            result = _request("result", "")
            assert (await desk.act("processor", code, "result", **result)).status_code == 200
    return code


@pytest.mark.parametrize(("action", "status", "allowed"), MATRIX, ids=[m[0] for m in MATRIX])
async def test_each_action_by_each_role_of_each_agency(
    workflow: ServiceUnderTest, action: str, status: str, allowed: set[str]
) -> None:
    own = await Desk(workflow, BAC_KAN).sign_in()
    other = await Desk(workflow, SOC_TRANG).sign_in()
    new_due_date = (datetime.now() + timedelta(days=60)).date()
    while new_due_date.weekday() >= 5:
        new_due_date += timedelta(days=1)
    outcomes: dict[tuple[str, str], int] = {}
    for role in ROLES:
        code = await _case_in(workflow, own, status)
        request = _request(action, new_due_date.isoformat())
        outcomes[("other", role)] = (await other.act(role, code, action, **request)).status_code
        assert await case_status(workflow, code) == status
        outcomes[("own", role)] = (await own.act(role, code, action, **request)).status_code
    expected = {
        **{("other", r): 404 if r in allowed else 403 for r in ROLES},
        **{("own", r): 200 if r in allowed else 403 for r in ROLES},
    }
    assert outcomes == expected


async def test_officers_read_only_their_agencys_dossiers(workflow: ServiceUnderTest) -> None:
    own = await Desk(workflow, BAC_KAN).sign_in()
    other = await Desk(workflow, SOC_TRANG).sign_in()
    dossier = submitted()
    code = dossier.dossier_code
    await arrived(workflow, dossier)
    for role in ROLES:
        assert (await own.get(role, f"/api/v1/dossiers/{code}")).status_code == 200
        assert (await other.get(role, f"/api/v1/dossiers/{code}")).status_code == 404
        listed = (await other.get(role, "/api/v1/dossiers")).json()["items"]
        assert code not in {d["code"] for d in listed}
        pdf = await other.get(role, f"/api/v1/dossiers/{code}/forms/control-sheet.pdf")
        assert pdf.status_code == 404
    async with workflow.client() as client:
        assert (await client.get(f"/api/v1/dossiers/{code}")).status_code == 401
        forged = {"Authorization": "Bearer not-a-token"}
        assert (await client.get("/api/v1/dossiers", headers=forged)).status_code == 401
