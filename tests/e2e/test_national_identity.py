"""A citizen with no account at the portal signs in with the national identity (the
stand-in OpenID provider, its login and consent forms), submits a dossier with intake's
token, and the officers of the agency receive it in workflow."""

from __future__ import annotations

import httpx
import pytest

from shared.testing.infra import eventually
from shared.testing.oidc import OidcProviderServer, ProviderAccount
from shared.testing.processes import ServiceProcess
from tests.e2e.journeys import signed_in_with_vneid, submit_online

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

AGENCY = "G01.306.000.000"  # Công an tỉnh Bắc Kạn, whose demo officers workflow seeds


async def test_a_citizen_signed_in_with_the_national_identity_submits_a_dossier(
    stack: dict[str, ServiceProcess],
    identity_provider: tuple[OidcProviderServer, tuple[ProviderAccount, ...]],
) -> None:
    intake, workflow = stack["intake"].url, stack["workflow"].url
    citizen_at_vneid = identity_provider[1][0]
    async with httpx.AsyncClient(base_url=intake, timeout=10) as browser:
        citizen = await signed_in_with_vneid(browser, citizen_at_vneid)

        me = (await browser.get("/api/v1/accounts/me", headers=citizen)).json()
        assert (me["id_number"], me["full_name"], me["status"]) == (
            citizen_at_vneid.login, "Lý Thị Hoa", "active",
        )  # fmt: skip
        dossier = await submit_online(browser, citizen, {
            "procedure_code": "1.990104", "agency_code": AGENCY, "case_code": "own_information",
            "form": {"requester_name": me["full_name"], "requester_phone": me["phone"],
                     "subject_full_name": me["full_name"], "subject_personal_id": me["id_number"],
                     "requested_information": ["Nơi thường trú"],
                     "purpose": "Bổ sung hồ sơ xin việc"},
            "notify_via": ["sms"], "result_delivery": {"method": "online"},
        })  # fmt: skip

    async with httpx.AsyncClient(base_url=workflow, timeout=10) as officers:
        token = (
            await officers.post(
                "/api/v1/auth/token",
                data={"username": "bk.tiepnhan", "password": "demo-officer-2026"},
            )
        ).json()["access_token"]
        officer = {"Authorization": f"Bearer {token}"}

        async def arrived() -> bool:
            answer = await officers.get(f"/api/v1/dossiers/{dossier}", headers=officer)
            return answer.status_code == 200

        await eventually(arrived, timeout=30, what="the dossier to reach the officers")
        received = await officers.post(f"/api/v1/dossiers/{dossier}/receive", headers=officer)
        assert received.status_code == 200, received.text
