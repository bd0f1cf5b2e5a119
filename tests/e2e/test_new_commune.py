"""Going live in a commune: its district's admin staffs a commune police unit that had no
officers through the API; a citizen signed in with the national identity submits a
residence dossier to it; the new receiver, temporary password changed at first sign-in,
receives it; it is processed, approved and returned; the citizen's tracking shows it
returned, with no working days left counted any more."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.testing.infra import eventually
from shared.testing.oidc import OidcProviderServer, ProviderAccount
from shared.testing.processes import ServiceProcess
from tests.e2e.journeys import signed_in_with_vneid, submit_online

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DISTRICT = "G01.306.058.000"  # Công an thành phố Bắc Kạn, with the demo admin bkc.quantri
COMMUNE = "G01.306.058.001"  # Công an phường Phùng Chí Kiên: in the catalogue, no officers
PROCEDURE = "1.010041"  # Xác nhận thông tin về cư trú, at the commune police
PDF = b"%PDF-1.7\n" + b"0" * 2048 + b"\nstartxref\n9\n%%EOF\n"
NEW_PASSWORD = "phung-chi-kien-2026"


def bearer(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def first_sign_in(officers: httpx.AsyncClient, created: httpx.Response) -> dict[str, str]:
    """A new officer's first sign-in: the temporary password opens only its change."""
    assert created.status_code == 201, created.text
    username, temporary = created.json()["username"], created.json()["temporary_password"]
    first = bearer(
        await officers.post(
            "/api/v1/auth/token", data={"username": username, "password": temporary}
        )
    )
    held_back = await officers.get("/api/v1/dossiers", headers=first)
    assert held_back.status_code == 403, held_back.text
    changed = await officers.post(
        "/api/v1/auth/password", headers=first,
        json={"current_password": temporary, "new_password": NEW_PASSWORD},
    )  # fmt: skip
    return bearer(changed)


async def test_a_new_commune_unit_receives_and_returns_a_residence_dossier(
    stack: dict[str, ServiceProcess],
    identity_provider: tuple[OidcProviderServer, tuple[ProviderAccount, ...]],
) -> None:
    intake, workflow = stack["intake"].url, stack["workflow"].url
    citizen_at_vneid = identity_provider[1][1]
    async with httpx.AsyncClient(base_url=workflow, timeout=10) as officers:
        admin = bearer(
            await officers.post(
                "/api/v1/auth/token",
                data={"username": "bkc.quantri", "password": "demo-officer-2026"},
            )
        )

        # The commune is known from intake's catalogue, without a single officer yet.
        async def commune_known() -> dict[str, Any] | None:
            units = (await officers.get("/api/v1/agencies", headers=admin)).json()["items"]
            return next((u for u in units if u["code"] == COMMUNE), None)

        unit = await eventually(commune_known, timeout=30, what="the commune in workflow")
        assert (unit["officers"], unit["inactive_officers"]) == (0, 0)
        # A commune's receiver also processes; its leader approves.
        receiver_created = await officers.post(
            f"/api/v1/agencies/{COMMUNE}/officers", headers=admin,
            json={"username": "pck.tiepnhan", "full_name": "Triệu Thị Lan",
                  "roles": ["receiver", "processor"], "phone": "0912000701"},
        )  # fmt: skip
        approver_created = await officers.post(
            f"/api/v1/agencies/{COMMUNE}/officers", headers=admin,
            json={"username": "pck.lanhdao", "full_name": "Nông Văn Hải", "roles": ["approver"]},
        )  # fmt: skip
        assert receiver_created.status_code == 201, receiver_created.text
        assert approver_created.status_code == 201, approver_created.text

    async with httpx.AsyncClient(base_url=intake, timeout=10) as browser:
        citizen = await signed_in_with_vneid(browser, citizen_at_vneid)
        me = (await browser.get("/api/v1/accounts/me", headers=citizen)).json()
        assert me["full_name"] == "Hoàng Văn Tùng"
        dossier = await submit_online(browser, citizen, {
            "procedure_code": PROCEDURE, "agency_code": COMMUNE, "case_code": "in_population_db",
            "form": {"full_name": me["full_name"], "date_of_birth": "1990-10-29", "sex": "Nam",
                     "personal_id": me["id_number"], "phone": me["phone"],
                     "confirmation_content": "Xác nhận nơi cư trú hiện tại",
                     "purpose": "Bổ sung hồ sơ vay vốn"},
            "notify_via": ["sms"], "result_delivery": {"method": "online"},
        })  # fmt: skip

    async with httpx.AsyncClient(base_url=workflow, timeout=10) as officers:
        receiver = await first_sign_in(officers, receiver_created)
        approver = await first_sign_in(officers, approver_created)

        async def arrived() -> bool:
            answer = await officers.get(f"/api/v1/dossiers/{dossier}", headers=receiver)
            return answer.status_code == 200

        await eventually(arrived, timeout=30, what="the dossier to reach the new receiver")

        async def act(who: dict[str, str], action: str, **kwargs: Any) -> dict[str, Any]:
            answer = await officers.post(f"/api/v1/dossiers/{dossier}/{action}", headers=who,
                                         **kwargs)  # fmt: skip
            assert answer.status_code == 200, (action, answer.text)
            body: dict[str, Any] = answer.json()
            return body

        assert (await act(receiver, "receive"))["status"] == "received"

        async def counting() -> dict[str, Any] | None:
            async with httpx.AsyncClient(base_url=intake, timeout=10) as anyone:
                seen: dict[str, Any] = (await anyone.get(f"/api/v1/tracking/{dossier}")).json()
            return seen if seen["status"] == "received" else None

        # While the clock runs the citizen is told the working days left of the procedure's
        # 3: all 3 after today, unless the clock starts at the opening of today's desk
        # (received in the night before it), when today is the first of them.
        while_received = await eventually(counting, timeout=30, what="the receipt at intake")
        assert while_received["working_days_left"] in (2, 3)
        await act(receiver, "assign", json={"officer": "pck.tiepnhan"})
        await act(receiver, "result", data={"summary": "Xác nhận thông tin về cư trú."},
                  files={"file": ("xac-nhan.pdf", PDF, "application/pdf")})  # fmt: skip
        await act(receiver, "submit-for-approval")
        assert (await act(approver, "approve"))["status"] == "result_ready"
        returned = await act(receiver, "return-result", json={"originals_verified": True})
        assert returned["status"] == "returned"

    async def tracked() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=intake, timeout=10) as anyone:
            public: dict[str, Any] = (await anyone.get(f"/api/v1/tracking/{dossier}")).json()
        return public if public["status"] == "returned" else None

    public = await eventually(tracked, timeout=30, what="the citizen to see it returned")
    assert public["working_days_left"] is None
    assert public["resolved_at"] is not None
    assert "Phùng Chí Kiên" in public["agency_name"]
    async with httpx.AsyncClient(base_url=intake, timeout=10) as browser:
        own = (await browser.get(f"/api/v1/dossiers/{dossier}", headers=citizen)).json()
    assert (own["status"], own["working_days_left"]) == ("returned", None)
    assert own["result_available"] is True
