"""Accounts that others cannot take over, probe or lock, through a real HTTP server on the
real PostgreSQL: a pending registration kept to its own phone, the same answers whether
or not an ID number has an account, guess limits for every caller, lockouts per address
with a code to the verified phone that lifts them. Addresses are set as the trusted proxy
in front reports them."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.intake.tests.conftest import StartIntake
from services.intake.tests.integration.support import (
    ID_NUMBER,
    PASSWORD,
    PHONE,
    from_address,
    login,
    other_than,
    otp_sent,
    outbox_events,
    register_and_verify,
    registration,
    until_refused,
)
from shared.security import passwords
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

OTHER_PHONE = "0987654321"
OTHER_PASSWORD = "matkhaucuatoi9"
# Well formed and consistent with the birth date of `registration()`: no warnings either.
OTHER_ID = "001099054321"
UNKNOWN_ID = "079099001234"
NEW_ID = "079099005678"
BEHIND_PROXY = {"trusted_proxies": ["127.0.0.1"]}


async def codes_to(service: ServiceUnderTest, phone: str) -> list[dict[str, Any]]:
    return [
        e.data
        for e in await outbox_events(service, "account.otp_requested")
        if e.data["phone"] == phone
    ]


async def verify(
    client: httpx.AsyncClient, otp: str, id_number: str = ID_NUMBER, address: str | None = None
) -> httpx.Response:
    return await client.post(
        "/api/v1/accounts/verify",
        json={"id_number": id_number, "otp": otp},
        headers=from_address(address),
    )


def comparable(answer: httpx.Response) -> tuple[int, Any]:
    """What a caller reads of an answer, but for a registration's own id and the seconds a
    lock has left (the two sequences of sign-ins run one after the other, so one lock can
    be a second older than the other on a slow machine)."""
    body = answer.json()
    if isinstance(body, dict) and "id" in body:
        body = body | {"id": "-"}
    if isinstance(body, dict) and "retry_after" in body:
        body = body | {"retry_after": "-"}
    return answer.status_code, body


# --- 1. a pending registration is not taken over -----------------------------------------


async def test_a_pending_registration_is_not_taken_over_by_another_phone_or_password(
    intake: ServiceUnderTest,
) -> None:
    async with intake.client() as client:
        first = await client.post("/api/v1/accounts", json=registration())
        account_id = first.json()["id"]
        other_phone = await client.post(
            "/api/v1/accounts", json=registration(phone=OTHER_PHONE, password=OTHER_PASSWORD)
        )
        other_password = await client.post(
            "/api/v1/accounts", json=registration(password=OTHER_PASSWORD)
        )
        assert first.status_code == other_phone.status_code == other_password.status_code == 201
        # No code ever went to the other phone: only the registration's own can complete it.
        assert await codes_to(intake, OTHER_PHONE) == []
        sent = await otp_sent(intake, account_id)
        assert sent["phone"] == PHONE
        assert (await verify(client, sent["otp"])).status_code == 200
        assert (await login(client, OTHER_PASSWORD)).status_code == 401
        assert (await login(client)).status_code == 200


async def test_registering_again_with_the_same_details_sends_a_new_code_to_the_same_phone(
    intake: ServiceUnderTest,
) -> None:
    async with intake.client() as client:
        first = await client.post("/api/v1/accounts", json=registration())
        again = await client.post("/api/v1/accounts", json=registration())
        assert first.json() == again.json()
        sent = await codes_to(intake, PHONE)
        assert len(sent) == 2
        assert (await verify(client, sent[-1]["otp"])).status_code == 200


async def test_a_pending_registration_expires_and_only_then_may_be_replaced(
    start_intake: StartIntake,
) -> None:
    service = await start_intake(pending_registration_seconds=3600)
    async with service.client() as client:
        squatted = await client.post("/api/v1/accounts", json=registration(phone=OTHER_PHONE))
        account_id = squatted.json()["id"]
        early = await client.post("/api/v1/accounts", json=registration())
        assert early.status_code == 201
        assert await codes_to(service, PHONE) == []

        async with service.runtime.db.transaction() as session:
            await session.execute(
                text("UPDATE accounts SET created_at = now() - interval '61 minutes'")
            )
        replaced = await client.post("/api/v1/accounts", json=registration())
        assert replaced.status_code == 201, replaced.text
        assert replaced.json()["id"] == account_id
        (sent,) = await codes_to(service, PHONE)
        assert (await verify(client, sent["otp"])).status_code == 200
        assert (await login(client)).status_code == 200


# --- 2. the answers do not tell who has an account ----------------------------------------


async def test_registering_answers_the_same_whether_or_not_the_id_number_has_an_account(
    intake: ServiceUnderTest,
) -> None:
    async with intake.client() as client:
        owner_id = await register_and_verify(intake, client)
        taken = await client.post(
            "/api/v1/accounts", json=registration(phone=OTHER_PHONE, password=OTHER_PASSWORD)
        )
        fresh = await client.post(
            "/api/v1/accounts",
            json=registration(id_number=OTHER_ID, phone=OTHER_PHONE, password=OTHER_PASSWORD),
        )
        assert comparable(taken) == comparable(fresh)
        assert taken.json()["status"] == "pending_verification"
        assert taken.json()["id"] != owner_id
        # And so do wrong codes for either.
        assert comparable(await verify(client, "000000")) == comparable(
            await verify(client, "000000", OTHER_ID)
        )
    # The code went only where a registration can be completed ...
    (sent,) = await codes_to(intake, OTHER_PHONE)
    assert sent["account_id"] == fresh.json()["id"]
    # ... and the owner is told by SMS that someone tried to register their number.
    (notice,) = await outbox_events(intake, "account.registration_attempted")
    assert (notice.data["account_id"], notice.data["phone"]) == (owner_id, PHONE)


async def test_codes_answer_the_same_whether_or_not_an_account_exists_or_is_active(
    intake: ServiceUnderTest,
) -> None:
    async with intake.client() as client:
        await register_and_verify(intake, client)  # ID_NUMBER is active
        pending = await client.post(
            "/api/v1/accounts", json=registration(id_number=OTHER_ID, phone=OTHER_PHONE)
        )
        assert pending.status_code == 201
        ids = (ID_NUMBER, UNKNOWN_ID)
        untouched = [comparable(await verify(client, "000000", i)) for i in ids]
        assert untouched[0] == untouched[1]

        for path in ("/api/v1/accounts/otp", "/api/v1/accounts/unlock"):
            asked = [
                comparable(await client.post(path, json={"id_number": i})) for i in (*ids, OTHER_ID)
            ]
            assert asked[0][0] == 202
            assert asked[0] == asked[1] == asked[2], path
        wrong = [comparable(await verify(client, "000000", i)) for i in (*ids, OTHER_ID)]
        assert wrong[0][0] == 422
        assert wrong[0] == wrong[1] == wrong[2]
        unlock_wrong = [
            comparable(
                await client.post(
                    "/api/v1/accounts/unlock/confirm", json={"id_number": i, "otp": "000000"}
                )
            )
            for i in ids
        ]
        assert unlock_wrong[0][0] == 422
        assert unlock_wrong[0] == unlock_wrong[1]


async def test_wrong_passwords_answer_the_same_whether_or_not_the_account_exists(
    start_intake: StartIntake,
) -> None:
    service = await start_intake(login_max_failures=3, lockout_seconds=120)
    async with service.client() as client:
        await register_and_verify(service, client)
        answers = {
            username: [await login(client, f"sai-mat-khau-{n}", username) for n in range(4)]
            for username in (ID_NUMBER, UNKNOWN_ID)
        }
    known, unknown = ([comparable(a) for a in answers[u]] for u in (ID_NUMBER, UNKNOWN_ID))
    assert [status for status, _ in known] == [401, 401, 423, 423]
    assert known == unknown


async def test_the_slow_steps_are_the_same_on_every_path_and_off_the_event_loop(
    intake: ServiceUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    on_the_loop: list[str] = []
    loop_thread = threading.get_ident()

    def counted(name: str, work: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            calls.append(name)
            if threading.get_ident() == loop_thread:
                on_the_loop.append(name)
            return work(*args)

        return run

    monkeypatch.setattr(passwords, "hash_secret", counted("hash", passwords.hash_secret))
    monkeypatch.setattr(passwords, "verify_secret", counted("verify", passwords.verify_secret))
    # The stand-in hash checked where there is nothing to check is made at first use.
    passwords._decoy_hash.cache_clear()

    async def slow_steps(send: Callable[[], Any]) -> list[str]:
        calls.clear()
        answer = await send()
        assert answer.status_code < 500, answer.text
        return sorted(calls)

    async with intake.client() as client:
        await register_and_verify(intake, client)
        await client.post("/api/v1/accounts", json=registration(id_number=OTHER_ID))

        def register(id_number: str) -> Callable[[], Any]:
            return lambda: client.post(
                "/api/v1/accounts",
                json=registration(id_number=id_number, phone=OTHER_PHONE, password=OTHER_PASSWORD),
            )

        def post(path: str, id_number: str, **body: str) -> Callable[[], Any]:
            return lambda: client.post(path, json={"id_number": id_number, **body})

        paths: dict[str, list[Callable[[], Any]]] = {
            "sign in": [
                lambda: login(client, "sai-mat-khau", UNKNOWN_ID),
                lambda: login(client, "sai-mat-khau"),
            ],
            "register": [register(NEW_ID), register(ID_NUMBER), register(OTHER_ID)],
            "new code": [
                post("/api/v1/accounts/otp", i) for i in (UNKNOWN_ID, ID_NUMBER, OTHER_ID)
            ],
            "verify": [
                post("/api/v1/accounts/verify", i, otp="000000")
                for i in (UNKNOWN_ID, ID_NUMBER, OTHER_ID)
            ],
            "unlock": [post("/api/v1/accounts/unlock", i) for i in (UNKNOWN_ID, ID_NUMBER)],
            "unlock code": [
                post("/api/v1/accounts/unlock/confirm", i, otp="000000")
                for i in (UNKNOWN_ID, ID_NUMBER)
            ],
            "password reset": [
                post("/api/v1/accounts/password-reset", i) for i in (UNKNOWN_ID, ID_NUMBER)
            ],
            "password reset code": [
                post(
                    "/api/v1/accounts/password-reset/confirm",
                    i,
                    otp="000000",
                    new_password="matkhaumoi2026",
                )
                for i in (UNKNOWN_ID, ID_NUMBER)
            ],
        }
        for name, sends in paths.items():
            steps = [await slow_steps(send) for send in sends]
            assert steps[0], name
            assert all(s == steps[0] for s in steps), (name, steps)
    # Made once, at first use, like every other hash in a worker thread.
    assert passwords._decoy_hash.cache_info().currsize == 1
    assert on_the_loop == []


# --- 3. guesses are limited for every caller ----------------------------------------------


async def test_code_guesses_are_limited_per_id_number_and_per_address(
    start_intake: StartIntake,
) -> None:
    service = await start_intake(
        **BEHIND_PROXY, limit_otp_guesses_per_id_hour=3, limit_otp_guesses_per_ip_hour=4
    )
    n = itertools.count()
    async with service.client() as client:
        # One ID number from ever new addresses, then new ID numbers from one address.
        per_id = await until_refused(
            lambda: verify(client, "000000", address=f"203.0.113.{next(n)}"), 3
        )
        per_address = await until_refused(
            lambda: verify(client, "000000", f"0010990{next(n):05d}", "198.51.100.7"), 4
        )
    for answers, limit in ((per_id, 3), (per_address, 4)):
        assert answers[-1].status_code == 429, [a.status_code for a in answers]
        assert len(answers) > limit
        assert "thử lại sau" in answers[-1].json()["detail"]


# --- 4. a lockout the attacker cannot turn against the owner ------------------------------


async def test_wrong_passwords_from_one_address_do_not_lock_the_owner_out_of_others(
    start_intake: StartIntake,
) -> None:
    service = await start_intake(**BEHIND_PROXY, login_max_failures=3)
    attacker, owner = "203.0.113.66", "198.51.100.20"
    async with service.client() as client:
        await register_and_verify(service, client)
        # More than the few a per-account limit would allow in a quarter of an hour.
        tries = [await login(client, f"sai-{n}", address=attacker) for n in range(12)]
        assert [t.status_code for t in tries[:3]] == [401, 401, 423]
        assert {t.status_code for t in tries[3:]} == {423}
        assert (await login(client, address=owner)).status_code == 200
        # The right password does not open the attacker's address, though.
        assert (await login(client, address=attacker)).status_code == 423


async def test_a_distributed_attack_meets_the_ceiling_and_the_owner_unlocks_with_a_code(
    start_intake: StartIntake,
) -> None:
    service = await start_intake(
        **BEHIND_PROXY, login_max_failures=3, login_max_failures_all_addresses=6
    )
    owner = "198.51.100.20"
    async with service.client() as client:
        account_id = await register_and_verify(service, client)
        attackers = ["203.0.113.1"] * 3 + ["203.0.113.2", "203.0.113.3", "203.0.113.4"]
        tries = [await login(client, f"sai-{n}", address=a) for n, a in enumerate(attackers)]
        assert [t.status_code for t in tries] == [401, 401, 423, 401, 401, 423]
        assert (await login(client, address=owner)).status_code == 423

        asked = await client.post(
            "/api/v1/accounts/unlock", json={"id_number": ID_NUMBER}, headers=from_address(owner)
        )
        assert asked.status_code == 202
        sent = await otp_sent(service, account_id)
        assert (sent["purpose"], sent["phone"]) == ("unlock", PHONE)

        async def confirm(otp: str) -> httpx.Response:
            return await client.post(
                "/api/v1/accounts/unlock/confirm",
                json={"id_number": ID_NUMBER, "otp": otp},
                headers=from_address(owner),
            )

        wrong = await confirm(other_than(sent["otp"]))
        assert wrong.status_code == 422
        assert wrong.json()["remaining_attempts"] == 4
        confirmed = await confirm(sent["otp"])
        assert confirmed.status_code == 200, confirmed.text
        assert (await confirm(sent["otp"])).status_code == 410  # used up

        assert (await login(client, address=owner)).status_code == 200
        # The attacker's own address stays locked: the code lifts the ceiling, not theirs.
        assert (await login(client, PASSWORD, address="203.0.113.1")).status_code == 423
        assert (await login(client, address="203.0.113.2")).status_code == 200


async def test_the_password_is_checked_with_no_database_connection_held(
    intake: ServiceUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[int] = []
    pool = intake.runtime.db.engine.pool

    def watched(stored_hash: str, secret: str) -> bool:
        held.append(pool.checkedout())  # type: ignore[attr-defined]
        return original(stored_hash, secret)

    original = passwords.verify_secret
    async with intake.client() as client:
        await register_and_verify(intake, client)
        monkeypatch.setattr(passwords, "verify_secret", watched)
        assert (await login(client)).status_code == 200
        assert (await login(client, "sai-mat-khau-1")).status_code == 401
    # A slow hash inside a transaction would keep a connection from every other request.
    assert held == [0, 0]
