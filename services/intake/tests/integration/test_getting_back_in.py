"""Citizens who can get back in, on a real server, PostgreSQL and the outbox: a password
reset by a code sent to the verified phone (same answer for any ID number, limited
guesses, used once), a password change when signed in, every other session ended, and
the owner told of each (`account.password_changed`, which notify sends)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from intake.adapters.tables import one_time_codes
from services.intake.tests.conftest import StartIntake
from services.intake.tests.integration.support import (
    ID_NUMBER,
    PASSWORD,
    PHONE,
    login,
    other_than,
    otp_sent,
    outbox_events,
    register_and_verify,
)
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

UNKNOWN_ID = "079099001234"
NEW_PASSWORD = "matkhaumoi2026"


def bearer(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def me(client: httpx.AsyncClient, session: dict[str, str]) -> int:
    return (await client.get("/api/v1/accounts/me", headers=session)).status_code


async def notices(service: ServiceUnderTest, account_id: str) -> list[dict[str, Any]]:
    return [
        e.data
        for e in await outbox_events(service, "account.password_changed")
        if e.data["account_id"] == account_id
    ]


async def test_a_forgotten_password_is_reset_with_a_code_to_the_verified_phone(
    start_intake: StartIntake,
) -> None:
    service = await start_intake(otp_max_attempts=3)
    async with service.client() as client:
        account_id = await register_and_verify(service, client)
        signed_in = bearer(await login(client))
        assert await me(client, signed_in) == 200

        asked = [
            await client.post("/api/v1/accounts/password-reset", json={"id_number": i})
            for i in (ID_NUMBER, UNKNOWN_ID)
        ]
        assert [a.status_code for a in asked] == [202, 202]
        assert asked[0].json() == asked[1].json()  # nothing tells who has an account
        sent = await otp_sent(service, account_id)
        assert (sent["purpose"], sent["phone"]) == ("reset_password", PHONE)

        async def confirm(otp: str, password: str = NEW_PASSWORD) -> httpx.Response:
            return await client.post(
                "/api/v1/accounts/password-reset/confirm",
                json={"id_number": ID_NUMBER, "otp": otp, "new_password": password},
            )

        weak = await confirm(sent["otp"], "ngan")
        assert weak.status_code == 422  # the same password rules as registration
        wrong = await confirm(other_than(sent["otp"]))
        assert wrong.status_code == 422
        assert wrong.json()["remaining_attempts"] == 2
        done = await confirm(sent["otp"])
        assert done.status_code == 200, done.text
        assert (await confirm(sent["otp"])).status_code == 410  # used up

        # Every session opened before has ended; only the new password signs in.
        assert await me(client, signed_in) == 401
        assert (await login(client)).status_code == 401
        assert await me(client, bearer(await login(client, NEW_PASSWORD))) == 200
        told = await notices(service, account_id)
        assert [(n["how"], n["phone"]) for n in told] == [("reset", PHONE)]

        # Guesses are limited, and an expired code opens nothing.
        await client.post("/api/v1/accounts/password-reset", json={"id_number": ID_NUMBER})
        second = await otp_sent(service, account_id)
        for _ in range(3):
            assert (await confirm(other_than(second["otp"]))).status_code == 422
        assert (await confirm(second["otp"])).status_code == 410
        await client.post("/api/v1/accounts/password-reset", json={"id_number": ID_NUMBER})
        third = await otp_sent(service, account_id)
        async with service.runtime.db.transaction() as session:
            await session.execute(
                update(one_time_codes).values(expires_at=one_time_codes.c.created_at)
            )
        assert (await confirm(third["otp"], "matkhaukhac2026")).status_code == 410
        assert (await login(client, NEW_PASSWORD)).status_code == 200


async def test_a_signed_in_citizen_changes_the_password_and_other_sessions_end(
    start_intake: StartIntake,
) -> None:
    service = await start_intake()
    async with service.client() as client:
        account_id = await register_and_verify(service, client)
        here, elsewhere = bearer(await login(client)), bearer(await login(client))

        async def change(session: dict[str, str], current: str, new: str) -> httpx.Response:
            return await client.post(
                "/api/v1/accounts/password", headers=session,
                json={"current_password": current, "new_password": new},
            )  # fmt: skip

        assert (await change({}, PASSWORD, NEW_PASSWORD)).status_code == 401
        wrong = await change(here, "khongphai123", NEW_PASSWORD)
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "current_password"
        assert (await change(here, PASSWORD, "ngan")).status_code == 422
        assert (await change(here, PASSWORD, PASSWORD)).status_code == 422
        changed = await change(here, PASSWORD, NEW_PASSWORD)
        assert changed.status_code == 200, changed.text
        going_on = bearer(changed)

        assert await me(client, going_on) == 200
        assert await me(client, elsewhere) == 401
        assert await me(client, here) == 401
        assert (await login(client)).status_code == 401
        assert (await login(client, NEW_PASSWORD)).status_code == 200
        told = await notices(service, account_id)
        assert [(n["how"], n["phone"]) for n in told] == [("change", PHONE)]
