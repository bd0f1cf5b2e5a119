"""A citizen's journey across the four running services: register (the one-time code comes
by SMS through notify), submit a dossier at intake, an officer receives it in workflow,
the citizen sees the appointment, is told by SMS, and the dossier is in the statistics."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts.events import VIETNAM
from shared.testing.infra import eventually
from shared.testing.processes import ServiceProcess
from tests.e2e.journeys import get, post

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

AGENCY = "G01.306.000.000"  # Công an tỉnh Bắc Kạn, whose demo officers workflow seeds


async def test_from_registration_to_the_appointment_and_the_report(
    stack: dict[str, ServiceProcess],
) -> None:
    intake, workflow = stack["intake"].url, stack["workflow"].url
    notify, stats = stack["notify"].url, stack["stats"].url
    id_number = f"0011900{uuid.uuid4().int % 10**5:05d}"
    phone = f"09{uuid.uuid4().int % 10**8:08d}"
    password = "Bac-Kan-2026-an"
    registered = await post(intake, "/api/v1/accounts", json={
        "id_number": id_number, "full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-17",
        "phone": phone, "password": password,
    })  # fmt: skip
    assert registered.status_code == 201, registered.text
    # The development SMS box, like every notify route, is read with an officer's token.
    officer_token = (
        await post(workflow, "/api/v1/auth/token",
                    data={"username": "bk.tiepnhan", "password": "demo-officer-2026"})
    ).json()["access_token"]  # fmt: skip
    officer = {"Authorization": f"Bearer {officer_token}"}

    async def otp() -> str | None:
        box = (
            await get(notify, "/api/v1/dev/sms", params={"phone": phone}, headers=officer)
        ).json()["items"]
        found = [re.search(r"\b(\d{6})\b", m["text"]) for m in box]
        return next((m.group(1) for m in found if m), None)

    code = await eventually(otp, timeout=30, what="the one-time code by SMS")
    verified = await post(intake, "/api/v1/accounts/verify",
                           json={"id_number": id_number, "otp": code})  # fmt: skip
    assert verified.json()["status"] == "active"
    token = (
        await post(intake, "/api/v1/auth/token", data={"username": id_number, "password": password})
    ).json()["access_token"]
    citizen = {"Authorization": f"Bearer {token}"}

    draft = await post(intake, "/api/v1/dossiers", headers=citizen, json={
        "procedure_code": "1.990104", "agency_code": AGENCY, "case_code": "own_information",
        "form": {"requester_name": "Nguyễn Văn An", "requester_phone": phone,
                 "subject_full_name": "Nguyễn Văn An", "subject_personal_id": id_number,
                 "requested_information": ["Nơi thường trú"],
                 "purpose": "Bổ sung hồ sơ xin việc"},
        "notify_via": ["sms"], "result_delivery": {"method": "online"},
    })  # fmt: skip
    assert draft.status_code == 201, draft.text
    submitted = await post(intake, f"/api/v1/dossiers/{draft.json()['id']}/submit",
                            headers=citizen, json={"commitment": True})  # fmt: skip
    assert submitted.status_code == 200, submitted.text
    dossier = submitted.json()["code"]

    async def arrived() -> bool:
        answer = await get(workflow, f"/api/v1/dossiers/{dossier}", headers=officer)
        return answer.status_code == 200

    await eventually(arrived, timeout=30, what="the dossier to reach the officers")
    received = await post(workflow, f"/api/v1/dossiers/{dossier}/receive", headers=officer)
    assert received.status_code == 200, received.text
    due_at = datetime.fromisoformat(received.json()["due_at"])

    async def tracked() -> dict[str, Any] | None:
        public = (await get(intake, f"/api/v1/tracking/{dossier}")).json()
        return public if public["status"] == "received" else None

    public = await eventually(tracked, timeout=30, what="the citizen to see the receipt")
    assert datetime.fromisoformat(public["due_at"]) == due_at
    assert id_number not in str(public)
    assert phone not in str(public)

    async def told() -> bool:
        box = (
            await get(notify, "/api/v1/dev/sms", params={"phone": phone}, headers=officer)
        ).json()["items"]
        return any(dossier in m["text"] and "tiep nhan" in m["text"] for m in box)

    await eventually(told, timeout=30, what="the SMS about the receipt")

    today = datetime.now(UTC).astimezone(VIETNAM).date().isoformat()

    async def counted() -> bool:
        report = (
            await get(stats, "/api/v1/reports/processing",
                       params={"from": today, "to": today, "agency_code": AGENCY})
        ).json()  # fmt: skip
        return bool(report["rows"]) and report["totals"]["received_online"] == 1

    await eventually(counted, timeout=30, what="the dossier in the processing report")
