"""Requests that were answered 5xx (or not at all), found by the contract run and by
probing the same kinds of value by hand (dates far in the future, values that decode but
cannot reach the database, text the template parser cannot read): each now refused as
the caller's mistake, on the real processes."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest

from shared.dates import OUT_OF_RANGE
from shared.testing.infra import eventually
from shared.testing.processes import ServiceProcess
from tests.contract.conftest import AGENCY, officer_token, submitted

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _refused(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert {"field": field, "message": OUT_OF_RANGE} in answer.json()["errors"]


@pytest.mark.parametrize(
    "path", ["/api/v1/reports/processing", "/api/v1/reports/processing.csv", "/api/v1/indicators"]
)
async def test_a_report_period_ending_in_year_9999_is_refused(
    services: dict[str, ServiceProcess], path: str
) -> None:
    # The day after the period's end was computed past date.max: OverflowError, 500.
    async with httpx.AsyncClient(base_url=services["stats"].url, timeout=10) as client:
        answer = await client.get(path, params={"from": "9999-01-01", "to": "9999-12-31"})
    _refused(answer, "to")


async def test_a_deadline_preview_in_year_9999_is_refused(
    services: dict[str, ServiceProcess],
) -> None:
    # Counting working days forward from then ran past date.max: OverflowError, 500.
    params = {
        "agency_code": AGENCY,
        "procedure_code": "1.990104",
        "received_at": "9999-12-30T10:00:00+07:00",
    }
    async with httpx.AsyncClient(base_url=services["workflow"].url, timeout=10) as client:
        answer = await client.get("/api/v1/deadlines/preview", params=params)
    _refused(answer, "received_at")


async def test_a_template_nested_too_deep_for_the_parser_is_refused(
    services: dict[str, ServiceProcess], contract_env: dict[str, str]
) -> None:
    # Jinja's parser recursed once per bracket: RecursionError, 500.
    deep = "{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}"
    bearer = {"Authorization": f"Bearer {contract_env['CONTRACT_OFFICER_TOKEN']}"}
    async with httpx.AsyncClient(base_url=services["notify"].url, timeout=10) as client:
        answer = await client.put(
            "/api/v1/templates/dossier.received.sms", headers=bearer, json={"body": deep}
        )
        history = await client.get("/api/v1/templates/dossier.received.sms", headers=bearer)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["body"]
    assert all(v["body"] != deep for v in history.json()["versions"])


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


FAR = "0001-01-01T00:00:00+14:00"  # before year 1 once in UTC


@pytest.mark.parametrize(
    ("service", "path", "cursor"),
    [
        ("intake", "/api/v1/dossiers", f"{FAR}|{uuid.UUID(int=1)}"),
        ("workflow", "/api/v1/dossiers", _b64([FAR, "G01"])),
        ("notify", "/api/v1/notifications", _b64([FAR, str(uuid.UUID(int=1))])),
    ],
)
async def test_a_forged_cursor_with_a_moment_out_of_range_is_refused(
    services: dict[str, ServiceProcess],
    contract_env: dict[str, str],
    service: str,
    path: str,
    cursor: str,
) -> None:
    # The moment decoded fine but could not be sent to PostgreSQL: OverflowError, 500.
    token = contract_env[
        "CONTRACT_CITIZEN_TOKEN" if service == "intake" else "CONTRACT_OFFICER_TOKEN"
    ]
    async with httpx.AsyncClient(base_url=services[service].url, timeout=10) as client:
        answer = await client.get(
            path, params={"cursor": cursor}, headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


async def test_the_control_sheet_of_a_dossier_with_a_long_note_renders(
    services: dict[str, ServiceProcess], contract_env: dict[str, str]
) -> None:
    # A note of the 2000 characters allowed made its table row taller than a page: the
    # PDF library refused the row (ValueError, 500).
    intake, workflow = services["intake"].url, services["workflow"].url
    citizen = {"Authorization": f"Bearer {contract_env['CONTRACT_CITIZEN_TOKEN']}"}
    note = ("ĐÃ ĐỐI CHIẾU BẢN CHÍNH GIẤY TỜ CỦA CÔNG DÂN, HỒ SƠ ĐẦY ĐỦ THÀNH PHẦN.\n" * 30)[:2000]
    async with httpx.AsyncClient(timeout=10) as client:
        code = await submitted(client, intake, citizen)
        receiver = await officer_token(client, workflow, "bk.tiepnhan")
        officer = {"Authorization": f"Bearer {receiver}"}

        async def arrived() -> bool:
            found = await client.get(f"{workflow}/api/v1/dossiers/{code}", headers=officer)
            return found.status_code == 200

        await eventually(arrived, timeout=30, what="the dossier to reach the officers")
        received = await client.post(
            f"{workflow}/api/v1/dossiers/{code}/receive", headers=officer, json={"note": note}
        )
        assert received.status_code == 200, received.text
        sheet = await client.get(
            f"{workflow}/api/v1/dossiers/{code}/forms/control-sheet.pdf", headers=officer
        )
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"] == "application/pdf"
    assert sheet.content.startswith(b"%PDF")
