"""Officers' sign-in: wrong passwords lock the officer at that address only, for longer each
time; too many attempts from one address or for one username are refused; the password
hashing runs off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from services.workflow.tests.conftest import StartWorkflow
from services.workflow.tests.integration.support import PASSWORD
from shared.security import passwords
from shared.testing.service import ServiceUnderTest
from workflow.adapters.tables import login_failures

pytestmark = pytest.mark.integration

OFFICER = "st.tiepnhan"
HERE, THERE = "203.0.113.7", "198.51.100.20"
# The test client is the trusted proxy, so X-Forwarded-For names the client's address.
BEHIND_PROXY: dict[str, Any] = {"trusted_proxies": ["127.0.0.1"]}
NO_LIMITS: dict[str, Any] = {
    "limit_login_per_ip_minute": 1000,
    "limit_login_per_username_15min": 1000,
}


async def login(
    client: httpx.AsyncClient,
    password: str = PASSWORD,
    *,
    username: str = OFFICER,
    address: str = HERE,
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )


async def expire_locks(service: ServiceUnderTest) -> None:
    async with service.runtime.db.transaction() as session:
        await session.execute(
            update(login_failures).values(locked_until=text("now() - interval '1 second'"))
        )


async def test_wrong_passwords_lock_the_officer_at_that_address_for_longer_each_time(
    start_workflow: StartWorkflow,
) -> None:
    service = await start_workflow(
        login_max_failures=3, lockout_seconds=120, **BEHIND_PROXY, **NO_LIMITS
    )
    async with service.client() as client:
        unknown = await login(client, username="khong.co.ai")
        first = await login(client, "sai-mat-khau-1")
        assert unknown.status_code == first.status_code == 401
        assert unknown.json() == first.json()  # who is an officer is not told
        assert (await login(client, "sai-mat-khau-2")).status_code == 401
        locked = await login(client, "sai-mat-khau-3")
        assert locked.status_code == 423, locked.text
        assert locked.headers["content-type"] == "application/problem+json"
        assert 110 <= int(locked.headers["retry-after"]) <= 120
        assert "tạm thời bị khóa" in locked.json()["detail"]

        # Guessing stops at this address, even with the right password...
        right_but_locked = await login(client)
        assert right_but_locked.status_code == 423
        assert "retry-after" in right_but_locked.headers
        # ...but one address cannot lock the officer out everywhere.
        elsewhere = await login(client, address=THERE)
        assert elsewhere.status_code == 200, elsewhere.text

        await expire_locks(service)
        for attempt in range(3):
            again = await login(client, f"van-sai-{attempt}")
        assert again.status_code == 423
        assert 230 <= int(again.headers["retry-after"]) <= 240  # twice as long

        await expire_locks(service)
        assert (await login(client)).status_code == 200
        # A success forgets the failures: three more wrong ones are needed to lock again.
        assert (await login(client, "sai-lan-nua")).status_code == 401


async def test_a_hundred_wrong_passwords_do_not_let_the_right_one_in(
    start_workflow: StartWorkflow,
) -> None:
    service = await start_workflow(**NO_LIMITS)
    async with service.client() as client:
        answers = [await login(client, f"doan-{n}") for n in range(100)]
        right = await login(client)
    assert {a.status_code for a in answers} == {401, 423}
    assert right.status_code == 423


async def until_refused(send: Callable[[int], Any], limit: int) -> list[httpx.Response]:
    """Send until a 429; a fixed window may roll over once, so 2 × limit + 1 tries suffice."""
    answers: list[httpx.Response] = []
    for n in range(2 * limit + 1):
        answers.append(await send(n))
        if answers[-1].status_code == 429:
            break
    return answers


async def test_too_many_sign_ins_from_an_address_or_for_a_username_answer_429(
    start_workflow: StartWorkflow,
) -> None:
    service = await start_workflow(
        limit_login_per_ip_minute=3, limit_login_per_username_15min=4, **BEHIND_PROXY
    )
    async with service.client() as client:
        # One address trying many usernames.
        by_address = await until_refused(
            lambda n: login(client, "sai", username=f"can.bo.{n}", address=HERE), 3
        )
        # Many addresses trying one username (each below its own address limit).
        by_username = await until_refused(
            lambda n: login(client, "sai", username="bk.xuly", address=f"192.0.2.{n + 1}"), 4
        )
        # Neither spills over: another officer at another address signs in.
        other = await login(client, username="bk.tiepnhan", address=THERE)
    for answers, limit, window in ((by_address, 3, 60), (by_username, 4, 900)):
        refused = answers[-1]
        assert refused.status_code == 429, [a.status_code for a in answers]
        assert len(answers) > limit
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= window
        assert "thử lại sau" in refused.json()["detail"]
    assert other.status_code == 200, other.text


async def test_password_hashing_runs_off_the_event_loop(
    start_workflow: StartWorkflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop: list[str] = []

    def watched(function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop.append(function.__name__)
            except RuntimeError:
                pass  # a worker thread: no loop runs here
            return function(*args)

        return run

    monkeypatch.setattr(passwords, "hash_secret", watched(passwords.hash_secret))
    monkeypatch.setattr(passwords, "verify_secret", watched(passwords.verify_secret))
    # The stand-in hash checked for unknown usernames is made at first use: watched too.
    passwords._decoy_hash.cache_clear()
    # All 32 sign-ins admitted at once (the default bound of requests in flight, 16, would
    # shed half), so that every hash is made while the loop must keep answering.
    service = await start_workflow(**NO_LIMITS, max_in_flight=64)  # seeds demo officers
    async with service.client() as client:
        logins = [
            asyncio.create_task(login(client, f"sai-{n}", username=name))
            for n in range(16)
            for name in (OFFICER, f"khong.co.{n}")
        ]
        await asyncio.sleep(0)
        health = await client.get("/healthz")
        answers = await asyncio.gather(*logins)
        right = await login(client, username="bk.tiepnhan")
    assert health.status_code == 200
    assert {a.status_code for a in answers} <= {401, 423}
    assert right.status_code == 200
    assert on_loop == []
