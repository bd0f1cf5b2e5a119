"""The four services as real processes, each on its own fresh database, and what the
contract run works on: a citizen registered through intake with a draft and submitted
dossiers, an officer of workflow, a delivery notify made. Their tokens and identifiers
reach schemathesis as environment variables (see schemathesis.toml)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx
import pytest

from shared.testing import infra
from shared.testing.infra import eventually
from shared.testing.oidc import OidcProviderServer, oidc_provider, relying_party_env
from shared.testing.processes import ServiceProcess, process_stack

SERVICES = ("intake", "workflow", "notify", "stats")

AGENCY = "G01.306.000.000"  # Công an tỉnh Bắc Kạn, whose demo officers workflow seeds
# Its administrator: every route answers rather than refuses the role.
ADMINISTRATOR = "bk.quantri"
PASSWORD = "Bac-Kan-2026-an"


async def _citizen(
    client: httpx.AsyncClient, intake: str, notify: str, officer: dict[str, str]
) -> str:
    """A new citizen's token, verified with the code notify sent by SMS (read in the
    development SMS box, which needs an officer's token)."""
    id_number = f"0011900{uuid.uuid4().int % 10**5:05d}"
    phone = f"09{uuid.uuid4().int % 10**8:08d}"
    registered = await client.post(f"{intake}/api/v1/accounts", json={
        "id_number": id_number, "full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-17",
        "phone": phone, "password": PASSWORD,
    })  # fmt: skip
    assert registered.status_code == 201, registered.text

    async def otp() -> str | None:
        sms = await client.get(f"{notify}/api/v1/dev/sms", params={"phone": phone}, headers=officer)
        found = [re.search(r"\b(\d{6})\b", m["text"]) for m in sms.json()["items"]]
        return next((m.group(1) for m in found if m), None)

    code = await eventually(otp, timeout=30, what="the one-time code by SMS")
    verified = await client.post(
        f"{intake}/api/v1/accounts/verify", json={"id_number": id_number, "otp": code}
    )
    assert verified.status_code == 200, verified.text
    token = await client.post(
        f"{intake}/api/v1/auth/token", data={"username": id_number, "password": PASSWORD}
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


async def officer_token(client: httpx.AsyncClient, workflow: str, username: str) -> str:
    """The token of one of the demo officers workflow seeds in development."""
    password = "demo-officer-2026"  # workflow's demo officers, development only
    signed_in = await client.post(
        f"{workflow}/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert signed_in.status_code == 200, signed_in.text
    return str(signed_in.json()["access_token"])


async def _draft(client: httpx.AsyncClient, intake: str, citizen: dict[str, str]) -> str:
    draft = await client.post(f"{intake}/api/v1/dossiers", headers=citizen, json={
        "procedure_code": "1.990104", "agency_code": AGENCY, "case_code": "own_information",
        "form": {"requester_name": "Nguyễn Văn An", "requester_phone": "0912345678",
                 "subject_full_name": "Nguyễn Văn An", "subject_personal_id": "001190012345",
                 "requested_information": ["Nơi thường trú"],
                 "purpose": "Bổ sung hồ sơ xin việc"},
        "notify_via": ["sms"], "result_delivery": {"method": "online"},
    })  # fmt: skip
    assert draft.status_code == 201, draft.text
    return str(draft.json()["id"])


async def submitted(client: httpx.AsyncClient, intake: str, citizen: dict[str, str]) -> str:
    draft = await _draft(client, intake, citizen)
    submitted = await client.post(
        f"{intake}/api/v1/dossiers/{draft}/submit", headers=citizen, json={"commitment": True}
    )
    assert submitted.status_code == 200, submitted.text
    return str(submitted.json()["code"])


INTAKE_PORT = infra.free_port()


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviderServer]:
    """The stand-in for VNeID, so that the sign-in routes answer as in production."""
    callback = f"http://127.0.0.1:{INTAKE_PORT}/api/v1/auth/oidc/callback"
    with oidc_provider(
        tmp_path_factory.mktemp("oidc"), redirect_uris=[callback], accounts=[]
    ) as provider:
        yield provider


@pytest.fixture(scope="session")
async def services(
    rabbit: tuple[str, str],
    object_store_server: infra.ObjectStoreServer,
    identity_provider: OidcProviderServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The stack of tests/e2e, but notify checks officers' tokens against this workflow's
    keys (its default address is workflow's port in production, not this one's)."""

    def configure(name: str, running: Mapping[str, ServiceProcess]) -> tuple[int, dict[str, str]]:
        if name == "intake":
            intake_url = f"http://127.0.0.1:{INTAKE_PORT}"
            return INTAKE_PORT, relying_party_env(identity_provider, intake_url)
        if name == "notify":
            return infra.free_port(), {
                "officer_jwks_url": f"{running['workflow'].url}/.well-known/jwks.json"
            }
        return infra.free_port(), {}

    async with process_stack(
        SERVICES, "ct", amqp_url=rabbit[1], store=object_store_server,
        logs=tmp_path_factory.mktemp("contract"), configure=configure,
    ) as running:  # fmt: skip
        yield running


@pytest.fixture(scope="session")
async def contract_env(services: dict[str, ServiceProcess]) -> dict[str, str]:
    """The variables schemathesis.toml reads."""
    return await variables(*(services[n].url for n in ("intake", "workflow", "notify")))


async def variables(intake: str, workflow: str, notify: str) -> dict[str, str]:
    """A citizen, an officer and what they work on, as schemathesis.toml names them."""
    async with httpx.AsyncClient(timeout=10) as client:
        officer = await officer_token(client, workflow, ADMINISTRATOR)
        bearer = {"Authorization": f"Bearer {officer}"}
        token = await _citizen(client, intake, notify, bearer)
        citizen = {"Authorization": f"Bearer {token}"}
        draft = await _draft(client, intake, citizen)
        # One dossier for each service's run: intake's may well be withdrawn by its run.
        at_intake = await submitted(client, intake, citizen)
        at_workflow = await submitted(client, intake, citizen)
        receiver = await officer_token(client, workflow, "bk.tiepnhan")

        async def arrived() -> bool:
            found = await client.get(f"{workflow}/api/v1/dossiers/{at_workflow}", headers=bearer)
            return found.status_code == 200

        await eventually(arrived, timeout=30, what="the dossier to reach the officers")

        async def deliveries() -> Any:
            page = await client.get(f"{notify}/api/v1/notifications", headers=bearer)
            return page.json()["items"]

        delivery = (await eventually(deliveries, timeout=30, what="a delivery at notify"))[0]
    return {
        "CONTRACT_CITIZEN_TOKEN": token,
        "CONTRACT_OFFICER_TOKEN": officer,
        "CONTRACT_RECEIVER_TOKEN": receiver,
        "CONTRACT_DRAFT": draft,
        "CONTRACT_DOSSIER_AT_INTAKE": at_intake,
        "CONTRACT_DOSSIER_AT_WORKFLOW": at_workflow,
        "CONTRACT_DELIVERY": str(delivery["id"]),
    }
