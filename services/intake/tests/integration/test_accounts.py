"""Citizen accounts through a real HTTP server on the real PostgreSQL and RabbitMQ:
registration, the SMS code read from the outbox as notify would receive it, sign-in,
lockout, abuse limits, and what must never be stored or logged in clear."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import select, text, update

from intake.adapters.tables import (
    accounts,
    idempotency_keys,
    login_failures,
    one_time_codes,
    rate_limits,
)
from intake.services.sealing import pseudonym
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
    registration,
    until_refused,
)
from shared.observability.logging import JsonFormatter
from shared.security import CITIZEN_AUDIENCE, TokenVerifier
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration


async def test_register_verify_sign_in_and_read_the_profile(intake: ServiceUnderTest) -> None:
    async with intake.client() as client:
        registered = await client.post("/api/v1/accounts", json=registration())
        assert registered.status_code == 201, registered.text
        body = registered.json()
        assert body["status"] == "pending_verification"
        assert body["warnings"] == []
        account_id = body["id"]

        sent = await otp_sent(intake, account_id)
        assert sent["purpose"] == "register"
        assert sent["phone"] == PHONE  # stored and sent in the national form
        assert len(sent["otp"]) == 6
        assert sent["otp"].isdigit()

        not_yet = await login(client)
        assert not_yet.status_code == 403
        assert "xác thực số điện thoại" in not_yet.json()["detail"]

        verified = await client.post(
            "/api/v1/accounts/verify", json={"id_number": ID_NUMBER, "otp": sent["otp"]}
        )
        assert verified.status_code == 200, verified.text
        assert verified.json() == {"status": "active"}
        again = await client.post(
            "/api/v1/accounts/verify", json={"id_number": ID_NUMBER, "otp": sent["otp"]}
        )
        # Used up; answered as for any ID number without a code (an active account is not told).
        assert again.status_code == 410

        signed_in = await login(client)
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()
        assert token["token_type"] == "bearer"
        assert token["expires_in"] == intake.app.state.ctx.settings.token_ttl_seconds
        assert signed_in.headers["cache-control"] == "no-store"

        me = await client.get(
            "/api/v1/accounts/me", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert me.status_code == 200, me.text
        assert me.json() | {"created_at": "-"} == {
            "id": account_id, "id_number": ID_NUMBER, "full_name": "Nguyễn Văn An",
            "date_of_birth": "1999-05-17", "phone": PHONE, "email": "an.nguyen@example.vn",
            "status": "active", "created_at": "-",
        }  # fmt: skip
        anonymous = await client.get("/api/v1/accounts/me")
        assert anonymous.status_code == 401

        jwks = (await client.get("/.well-known/jwks.json")).json()
    claims = TokenVerifier(jwks["keys"], issuer="intake", audience=CITIZEN_AUDIENCE).verify(
        token["access_token"]
    )
    assert (claims.subject, claims.role, claims.issuer) == (account_id, "citizen", "intake")

    async with intake.runtime.db.transaction() as session:
        code_left = await session.scalar(
            select(one_time_codes.c.code_hash).where(
                one_time_codes.c.account_id == uuid.UUID(account_id)
            )
        )
    assert code_left is None  # a used code is gone


async def test_an_active_id_number_cannot_register_again(intake: ServiceUnderTest) -> None:
    async with intake.client() as client:
        account_id = await register_and_verify(intake, client)
        again = await client.post(
            "/api/v1/accounts", json=registration(phone="0987654321", password="matkhaukhac1")
        )
        # Answered as a new registration would be, so that it tells nobody the number has
        # an account; but the account stays as it was and no code goes to the new phone.
        assert again.status_code == 201, again.text
        assert again.json()["status"] == "pending_verification"
        assert again.json()["id"] != account_id
        assert (await login(client, "matkhaukhac1")).status_code == 401
        assert (await login(client)).status_code == 200
    sent = await outbox_events(intake, "account.otp_requested")
    assert [e.data["phone"] for e in sent] == [PHONE]


async def test_a_citizen_whose_code_never_came_registers_again(intake: ServiceUnderTest) -> None:
    async with intake.client() as client:
        first = await client.post("/api/v1/accounts", json=registration(phone="0987654321"))
        account_id = first.json()["id"]
        lost = (await otp_sent(intake, account_id))["otp"]
        # Another phone may replace a registration only once it has expired unverified.
        async with intake.runtime.db.transaction() as session:
            await session.execute(
                text("UPDATE accounts SET created_at = created_at - interval '25 hours'")
            )
        # Corrected phone number, same ID number: the same account, a new code.
        second = await client.post("/api/v1/accounts", json=registration())
        assert second.status_code == 201, second.text
        assert second.json()["id"] == account_id
        sent = await otp_sent(intake, account_id)
        assert sent["phone"] == PHONE
        if lost != sent["otp"]:
            stale = await client.post(
                "/api/v1/accounts/verify", json={"id_number": ID_NUMBER, "otp": lost}
            )
            assert stale.status_code == 422
        verified = await client.post(
            "/api/v1/accounts/verify", json={"id_number": ID_NUMBER, "otp": sent["otp"]}
        )
        assert verified.status_code == 200, verified.text
        assert (await login(client)).status_code == 200


async def test_a_retried_registration_with_its_idempotency_key_sends_one_code(
    intake: ServiceUnderTest,
) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    async with intake.client() as client:
        first = await client.post("/api/v1/accounts", json=registration(), headers=headers)
        retried = await client.post("/api/v1/accounts", json=registration(), headers=headers)
        changed = await client.post(
            "/api/v1/accounts", json=registration(password="matkhaukhac1"), headers=headers
        )
    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert changed.status_code == 422
    assert len(await outbox_events(intake, "account.otp_requested")) == 1


@pytest.mark.parametrize("id_number", ["00109901234", "00109901234a", "CCCD01234567", ""])
async def test_a_malformed_id_number_is_refused_with_a_vietnamese_message(
    intake: ServiceUnderTest, id_number: str
) -> None:
    async with intake.client() as client:
        refused = await client.post("/api/v1/accounts", json=registration(id_number=id_number))
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert {
        "field": "id_number",
        "message": "Số định danh cá nhân (số CCCD) phải gồm đúng 12 chữ số.",
    } in refused.json()["errors"]
    assert await outbox_events(intake, "account.otp_requested") == []


async def test_other_fields_are_checked_with_vietnamese_messages(intake: ServiceUnderTest) -> None:
    async with intake.client() as client:
        refused = await client.post(
            "/api/v1/accounts",
            json=registration(
                phone="0212345678", password="matkhaumoi", email="không-phải-email",
                date_of_birth="2999-01-01", full_name="  ",
            ),
        )  # fmt: skip
    assert refused.status_code == 422
    errors = {e["field"]: e["message"] for e in refused.json()["errors"]}
    assert errors == {
        "full_name": "Vui lòng nhập họ và tên.",
        "date_of_birth": "Ngày sinh không được sau ngày hôm nay.",
        "phone": errors["phone"],
        "email": "Địa chỉ email không hợp lệ.",
        "password": "Mật khẩu phải có cả chữ cái và chữ số.",
    }
    assert errors["phone"].startswith("Số điện thoại di động không hợp lệ")


async def test_an_id_number_contradicting_the_birth_year_registers_with_a_warning(
    intake: ServiceUnderTest,
) -> None:
    async with intake.client() as client:
        registered = await client.post(
            "/api/v1/accounts", json=registration(date_of_birth="1989-05-17")
        )
    assert registered.status_code == 201, registered.text
    (warning,) = registered.json()["warnings"]
    assert warning["field"] == "id_number"
    assert "năm sinh 1999" in warning["message"]


async def test_wrong_codes_are_counted_until_a_new_code_is_needed(intake: ServiceUnderTest) -> None:
    attempts = intake.app.state.ctx.settings.otp_max_attempts
    async with intake.client() as client:
        account_id = (await client.post("/api/v1/accounts", json=registration())).json()["id"]
        otp = (await otp_sent(intake, account_id))["otp"]
        for remaining in reversed(range(attempts)):
            wrong = await client.post(
                "/api/v1/accounts/verify", json={"id_number": ID_NUMBER, "otp": other_than(otp)}
            )
            assert wrong.status_code == 422
            assert wrong.json()["title"] == "Mã xác thực không đúng"
            assert wrong.json()["remaining_attempts"] == remaining
        async with intake.runtime.db.transaction() as session:
            counted = await session.scalar(select(one_time_codes.c.attempts))
        assert counted == attempts

        # Even the right code is refused now: guessing must not go on.
        exhausted = await client.post(
            "/api/v1/accounts/verify", json={"id_number": ID_NUMBER, "otp": otp}
        )
        assert exhausted.status_code == 410
        assert "yêu cầu gửi lại mã" in exhausted.json()["detail"]

        resent = await client.post("/api/v1/accounts/otp", json={"id_number": ID_NUMBER})
        assert resent.status_code == 202
        fresh = (await otp_sent(intake, account_id))["otp"]
        verified = await client.post(
            "/api/v1/accounts/verify", json={"id_number": ID_NUMBER, "otp": fresh}
        )
        assert verified.status_code == 200, verified.text


async def test_an_expired_code_is_refused(intake: ServiceUnderTest) -> None:
    async with intake.client() as client:
        account_id = (await client.post("/api/v1/accounts", json=registration())).json()["id"]
        otp = (await otp_sent(intake, account_id))["otp"]
        async with intake.runtime.db.transaction() as session:
            await session.execute(
                text("UPDATE one_time_codes SET expires_at = now() - interval '1 second'")
            )
        expired = await client.post(
            "/api/v1/accounts/verify", json={"id_number": ID_NUMBER, "otp": otp}
        )
    assert expired.status_code == 410
    assert "hết hạn" in expired.json()["detail"]


async def test_asking_for_a_code_does_not_tell_whether_the_account_exists(
    intake: ServiceUnderTest,
) -> None:
    async with intake.client() as client:
        await register_and_verify(intake, client)
        active = await client.post("/api/v1/accounts/otp", json={"id_number": ID_NUMBER})
        unknown = await client.post("/api/v1/accounts/otp", json={"id_number": "079305001234"})
    assert active.status_code == unknown.status_code == 202
    assert active.json() == unknown.json()
    assert len(await outbox_events(intake, "account.otp_requested")) == 1


async def test_codes_and_passwords_are_not_stored_in_clear(intake: ServiceUnderTest) -> None:
    async with intake.client() as client:
        account_id = (
            await client.post(
                "/api/v1/accounts", json=registration(), headers={"Idempotency-Key": "k-1"}
            )
        ).json()["id"]
        await client.post("/api/v1/accounts/otp", json={"id_number": ID_NUMBER})
        otp = (await otp_sent(intake, account_id))["otp"]
        await login(client, "sai-mat-khau")
    async with intake.runtime.db.transaction() as session:
        password_hash = await session.scalar(select(accounts.c.password_hash))
        code_hash = await session.scalar(select(one_time_codes.c.code_hash))
        buckets = list(await session.scalars(select(rate_limits.c.bucket)))
        keys = (await session.execute(select(idempotency_keys))).mappings().all()
        subjects = list(await session.scalars(select(one_time_codes.c.subject)))
        failures = (await session.execute(select(login_failures))).mappings().all()
    assert password_hash is not None
    assert password_hash.startswith("$argon2id$")
    assert code_hash is not None
    assert code_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert otp not in code_hash
    # Abuse counters, idempotency records, codes and wrong-password counts name nobody.
    assert buckets
    assert keys
    assert subjects
    assert failures
    stored = repr(buckets) + repr([dict(k) for k in keys]) + repr(subjects)
    stored += repr([dict(f) for f in failures])
    for secret in (ID_NUMBER, PHONE, PASSWORD, "127.0.0.1"):
        assert secret not in stored


async def test_wrong_passwords_lock_the_account_for_longer_each_time(
    start_intake: StartIntake,
) -> None:
    service = await start_intake(login_max_failures=3, lockout_seconds=120)
    async with service.client() as client:
        await register_and_verify(service, client)

        unknown = await login(client, username="079305001234")
        first = await login(client, "sai-mat-khau-1")
        assert unknown.status_code == first.status_code == 401
        assert unknown.json() == first.json()  # who has an account is not told
        assert (await login(client, "sai-mat-khau-2")).status_code == 401
        locked = await login(client, "sai-mat-khau-3")
        assert locked.status_code == 423
        assert 110 <= int(locked.headers["retry-after"]) <= 120
        assert "tạm thời bị khóa" in locked.json()["detail"]

        right_but_locked = await login(client)
        assert right_but_locked.status_code == 423
        assert "retry-after" in right_but_locked.headers

        await expire_lock(service)
        for attempt in range(3):
            again = await login(client, f"van-sai-{attempt}")
        assert again.status_code == 423
        assert 230 <= int(again.headers["retry-after"]) <= 240  # twice as long

        await expire_lock(service)
        assert (await login(client)).status_code == 200
    # The right password clears the counts (kept per ID number and address since the
    # lockout stopped being the account's own).
    subject = pseudonym(service.runtime.settings.secret("jwt_secret"), ID_NUMBER)
    async with service.runtime.db.transaction() as session:
        rows = (
            await session.execute(
                select(login_failures.c.failures, login_failures.c.locked_until).where(
                    login_failures.c.subject == subject
                )
            )
        ).all()
    assert [(row.failures, row.locked_until) for row in rows] == []


async def expire_lock(service: ServiceUnderTest) -> None:
    async with service.runtime.db.transaction() as session:
        await session.execute(
            update(login_failures).values(locked_until=text("now() - interval '1 second'"))
        )


async def test_too_many_requests_are_refused_with_retry_after(start_intake: StartIntake) -> None:
    service = await start_intake(limit_login_per_ip_minute=3, limit_otp_per_account_hour=2)
    async with service.client() as client:
        logins = await until_refused(lambda: login(client, "sai-mat-khau"), 3)
        codes = await until_refused(
            lambda: client.post("/api/v1/accounts/otp", json={"id_number": ID_NUMBER}), 2
        )
    for answers, limit, window in ((logins, 3, 60), (codes, 2, 3600)):
        refused = answers[-1]
        assert refused.status_code == 429, [a.status_code for a in answers]
        assert len(answers) > limit
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= window
        assert "thử lại sau" in refused.json()["detail"]


async def test_no_id_number_or_phone_reaches_the_logs(
    intake: ServiceUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        async with intake.client() as client:
            await register_and_verify(intake, client)
            assert (await login(client, "sai-mat-khau")).status_code == 401
            token = (await login(client)).json()["access_token"]
            await client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    formatter = JsonFormatter("intake")
    lines = [formatter.format(record) for record in caplog.records]
    assert sum('"logger": "http"' in line for line in lines) == 5  # the capture saw the requests
    for secret in (ID_NUMBER, PHONE, "912345678", PASSWORD):
        assert not [line for line in lines if secret in line]
