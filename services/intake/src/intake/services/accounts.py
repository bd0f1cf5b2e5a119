"""Citizen accounts: registration with a phone verification code, verification, new
codes, and password sign-in with a lockout that doubles.

The code travels to notify inside `account.otp_requested`, written to the outbox in the
transaction that stores its hash: a code is sent if and only if it can be verified.
"""

from __future__ import annotations

import asyncio
import functools
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import accounts, one_time_codes
from intake.domain.identity import id_number_warnings, new_otp
from intake.domain.statuses import AccountStatus
from intake.services.context import Context
from intake.services.sealing import keyed_digest, pseudonym
from shared.contracts.events import AccountOtpRequested
from shared.db.idempotency import Answer, Retry
from shared.errors import (
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    Locked,
    NotFound,
    Refused,
    Unauthenticated,
    field_error,
)
from shared.security.passwords import hash_secret, verify_secret

_REGISTER = "register"
_MAX_LOCKOUT = timedelta(days=1)


@dataclass(frozen=True)
class Registration:
    id_number: str
    full_name: str
    date_of_birth: date
    phone: str
    email: str | None
    password: str


async def _hash(secret: str) -> str:
    # Argon2 takes tens of milliseconds of CPU: off the event loop.
    return await asyncio.to_thread(hash_secret, secret)


async def _matches(stored_hash: str, secret: str) -> bool:
    return await asyncio.to_thread(verify_secret, stored_hash, secret)


@functools.cache
def _decoy_hash() -> str:
    return hash_secret(uuid.uuid4().hex)


def _retry(secret: str, registration: Registration, key: str | None) -> Retry:
    # The stored request hash must not make the password guessable offline.
    password = keyed_digest(secret, "registration-password", registration.password)
    return Retry.of(
        key, registration.id_number, registration.full_name, registration.date_of_birth,
        registration.phone, registration.email, password,
    )  # fmt: skip


async def _send_code(
    ctx: Context, session: AsyncSession, account_id: uuid.UUID, phone: str, otp: str, code_hash: str
) -> None:
    """Replace any earlier code of the account and have notify send this one."""
    expires_at = datetime.now(UTC) + timedelta(seconds=ctx.settings.otp_ttl_seconds)
    await session.execute(
        insert(one_time_codes)
        .values(account_id=account_id, purpose=_REGISTER, code_hash=code_hash,
                expires_at=expires_at, attempts=0)
        .on_conflict_do_update(
            index_elements=[one_time_codes.c.account_id, one_time_codes.c.purpose],
            set_={"code_hash": code_hash, "expires_at": expires_at, "attempts": 0,
                  "created_at": datetime.now(UTC)},
        )
    )  # fmt: skip
    await ctx.outbox.add(
        session,
        AccountOtpRequested(
            account_id=account_id, purpose=_REGISTER, phone=phone, otp=otp, expires_at=expires_at
        ),
    )


async def register(ctx: Context, registration: Registration, key: str | None) -> Answer:
    """Create an account awaiting phone verification, or renew one still awaiting it."""
    secret = ctx.settings.secret("jwt_secret")
    password_hash = await _hash(registration.password)
    otp = new_otp()
    code_hash = await _hash(otp)
    details = {
        "full_name": registration.full_name,
        "date_of_birth": registration.date_of_birth,
        "phone": registration.phone,
        "email": registration.email,
        "password_hash": password_hash,
    }
    scope = f"register:{pseudonym(secret, registration.id_number)}"

    async def run(session: AsyncSession) -> Answer:
        account_id = await _pending_account(session, registration.id_number, details)
        await _send_code(ctx, session, account_id, registration.phone, otp, code_hash)
        warnings = [
            field_error("id_number", message)
            for message in id_number_warnings(registration.id_number, registration.date_of_birth)
        ]
        return Answer(
            201, {"id": str(account_id), "status": AccountStatus.PENDING, "warnings": warnings}
        )

    return await ctx.once(scope, _retry(secret, registration, key), run)


async def _pending_account(
    session: AsyncSession, id_number: str, details: dict[str, Any]
) -> uuid.UUID:
    """The account awaiting verification for `id_number`, made or renewed with `details`."""
    account_id = await session.scalar(
        insert(accounts)
        .values(id=uuid.uuid4(), id_number=id_number, status=AccountStatus.PENDING, **details)
        .on_conflict_do_nothing(index_elements=[accounts.c.id_number])
        .returning(accounts.c.id)
    )
    if account_id is not None:
        return account_id
    existing = (
        await session.execute(
            select(accounts.c.id, accounts.c.status)
            .where(accounts.c.id_number == id_number)
            .with_for_update()
        )
    ).one()
    if existing.status == AccountStatus.ACTIVE:
        raise Conflict(
            "Số định danh này đã có tài khoản. Vui lòng đăng nhập.",
            type_="urn:dvc:account-exists",
        )
    # The first code may never have arrived: the citizen registers again, with
    # corrected details if need be, and gets a new code.
    await session.execute(accounts.update().where(accounts.c.id == existing.id).values(**details))
    existing_id: uuid.UUID = existing.id
    return existing_id


async def resend_otp(ctx: Context, id_number: str) -> None:
    """A new code for an account awaiting verification; nothing, silently, otherwise."""
    otp = new_otp()
    # Hashed whether or not the account exists, so the answer time does not tell.
    code_hash = await _hash(otp)
    async with ctx.db.transaction() as session:
        account = (
            await session.execute(
                select(accounts.c.id, accounts.c.phone)
                .where(
                    accounts.c.id_number == id_number, accounts.c.status == AccountStatus.PENDING
                )
                .with_for_update()
            )
        ).first()
        if account is not None:
            await _send_code(ctx, session, account.id, account.phone, otp, code_hash)


def _request_new_code(detail: str) -> Refused:
    return Gone(f"{detail} Vui lòng yêu cầu gửi lại mã xác thực mới.", type_="urn:dvc:otp-expired")


async def verify(ctx: Context, id_number: str, otp: str) -> None:
    """Activate an account with the code sent to its phone."""
    max_attempts = ctx.settings.otp_max_attempts
    async with ctx.db.transaction() as session:
        account = (
            await session.execute(
                select(accounts.c.id, accounts.c.status).where(accounts.c.id_number == id_number)
            )
        ).first()
        if account is not None and account.status == AccountStatus.ACTIVE:
            raise Conflict(
                "Tài khoản này đã được xác thực, vui lòng đăng nhập.",
                type_="urn:dvc:account-active",
            )
        # Locked so that concurrent guesses are counted one after another.
        code = None
        if account is not None:
            code = (
                await session.execute(
                    select(one_time_codes)
                    .where(
                        one_time_codes.c.account_id == account.id,
                        one_time_codes.c.purpose == _REGISTER,
                    )
                    .with_for_update()
                )
            ).first()
        if account is None or code is None or code.expires_at <= datetime.now(UTC):
            raise _request_new_code("Mã xác thực đã hết hạn hoặc không còn hiệu lực.")
        if code.attempts >= max_attempts:
            raise _request_new_code("Mã xác thực đã bị nhập sai quá số lần cho phép.")
        if await _matches(code.code_hash, otp):
            await session.execute(
                accounts.update()
                .where(accounts.c.id == account.id)
                .values(status=AccountStatus.ACTIVE)
            )
            await session.execute(
                one_time_codes.delete().where(
                    one_time_codes.c.account_id == account.id,
                    one_time_codes.c.purpose == _REGISTER,
                )
            )
            return
        attempts = code.attempts + 1
        await session.execute(
            one_time_codes.update()
            .where(one_time_codes.c.account_id == account.id, one_time_codes.c.purpose == _REGISTER)
            .values(attempts=attempts)
        )
    # Raised after the block: the counted attempt must commit, not roll back.
    remaining = max(0, max_attempts - attempts)
    detail = (
        f"Mã xác thực không đúng. Bạn còn {remaining} lần thử."
        if remaining
        else "Mã xác thực không đúng. Bạn đã hết số lần thử, vui lòng yêu cầu gửi lại mã mới."
    )
    raise Invalid(
        detail,
        title="Mã xác thực không đúng",
        type_="urn:dvc:otp-wrong",
        remaining_attempts=remaining,
    )


def _lockout(settings_seconds: int, failures: int, max_failures: int) -> timedelta:
    """Every `max_failures`-th failure in a row locks, each time twice as long (to a day)."""
    rounds = failures // max_failures
    return min(timedelta(seconds=settings_seconds * 2 ** min(rounds - 1, 20)), _MAX_LOCKOUT)


def _locked(until: datetime, now: datetime) -> Refused:
    retry_after = max(1, math.ceil((until - now).total_seconds()))
    minutes = math.ceil(retry_after / 60)
    return Locked(
        f"Tài khoản tạm thời bị khóa do nhập sai mật khẩu nhiều lần. "
        f"Vui lòng thử lại sau {minutes} phút.",
        title="Tài khoản tạm thời bị khóa",
        type_="urn:dvc:account-locked",
        retry_after=retry_after,
    )


_WRONG_CREDENTIALS = "Số định danh hoặc mật khẩu không đúng."


async def authenticate(ctx: Context, username: str, password: str) -> tuple[str, int]:
    """A citizen's access token and its lifetime in seconds, for the right password."""
    settings = ctx.settings
    problem: Refused | None = None
    async with ctx.db.transaction() as session:
        # Locked: concurrent wrong guesses are counted one after another.
        account = (
            await session.execute(
                select(accounts).where(accounts.c.id_number == username.strip()).with_for_update()
            )
        ).first()
        now = datetime.now(UTC)
        if account is None:
            # As slow as a real check, so the answer time does not tell who has an account.
            await _matches(_decoy_hash(), password)
            problem = Unauthenticated(_WRONG_CREDENTIALS, type_="urn:dvc:invalid-credentials")
        elif account.locked_until is not None and account.locked_until > now:
            # Not even a right password opens a locked account: guessing must stop.
            raise _locked(account.locked_until, now)
        elif not await _matches(account.password_hash, password):
            failures = account.failed_logins + 1
            locked_until = None
            if failures % settings.login_max_failures == 0:
                locked_until = now + _lockout(
                    settings.lockout_seconds, failures, settings.login_max_failures
                )
            await session.execute(
                accounts.update()
                .where(accounts.c.id == account.id)
                .values(failed_logins=failures, locked_until=locked_until)
            )
            problem = (
                _locked(locked_until, now)
                if locked_until is not None
                else Unauthenticated(_WRONG_CREDENTIALS, type_="urn:dvc:invalid-credentials")
            )
        else:
            if account.failed_logins or account.locked_until is not None:
                await session.execute(
                    accounts.update()
                    .where(accounts.c.id == account.id)
                    .values(failed_logins=0, locked_until=None)
                )
            if account.status != AccountStatus.ACTIVE:
                problem = Forbidden(
                    "Tài khoản chưa được xác thực số điện thoại. Vui lòng nhập mã xác thực "
                    "đã gửi qua tin nhắn, hoặc yêu cầu gửi lại mã.",
                    type_="urn:dvc:account-not-verified",
                )
    # Raised after the block: the counted failure must commit, not roll back.
    if problem is not None:
        raise problem
    assert account is not None
    return ctx.tokens.issue(str(account.id), "citizen")


async def profile(ctx: Context, account_id: uuid.UUID) -> dict[str, Any]:
    """The owner's own details, unmasked, to prefill forms."""
    async with ctx.db.transaction() as session:
        account = (
            await session.execute(select(accounts).where(accounts.c.id == account_id))
        ).first()
    if account is None:
        raise NotFound("Không tìm thấy tài khoản.")
    return {
        "id": str(account.id),
        "id_number": account.id_number,
        "full_name": account.full_name,
        "date_of_birth": account.date_of_birth.isoformat(),
        "phone": account.phone,
        "email": account.email,
        "status": account.status,
        "created_at": account.created_at.isoformat(),
    }
