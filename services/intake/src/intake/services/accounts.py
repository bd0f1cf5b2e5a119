"""Citizen accounts: registration with a phone verification code, verification, new
codes, password sign-in with lockouts per address, and unlocking with a code.

Nobody learns from these answers whether an ID number has an account: registering,
asking for a code and guessing one answer alike, in the same time, for an active account,
a pending one and none (the codes of `codes`, the counters of `lockout`); the owner of an
active account is told by SMS when someone registers with their number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import accounts
from intake.domain.identity import id_number_warnings
from intake.domain.statuses import AccountStatus
from intake.services import codes
from intake.services.codes import NewCode
from intake.services.context import Context
from intake.services.sealing import keyed_digest, pseudonym
from shared.contracts.events import AccountPasswordChanged, AccountRegistrationAttempted
from shared.db import Database
from shared.db.idempotency import Answer, Retry
from shared.db.sql import Sql
from shared.errors import Forbidden, Invalid, NotFound, Unauthenticated, field_error
from shared.security.passwords import hash_off_loop, verify_decoy_off_loop, verify_off_loop


@dataclass(frozen=True)
class Registration:
    id_number: str
    full_name: str
    date_of_birth: date
    phone: str
    email: str | None
    password: str


def _retry(secret: str, registration: Registration, key: str | None) -> Retry:
    # The stored request hash must not make the password guessable offline.
    password = keyed_digest(secret, "registration-password", registration.password)
    return Retry.of(
        key, registration.id_number, registration.full_name, registration.date_of_birth,
        registration.phone, registration.email, password,
    )  # fmt: skip


def _stand_in_id(secret: str, registration: Registration) -> uuid.UUID:
    """The id answered when the registration made or renewed nothing: the same for the same
    details, as a real one is, and not the id of anyone's account."""
    digest = keyed_digest(
        secret, "registration-id",
        f"{registration.id_number}\n{registration.phone}\n{registration.password}",
    )  # fmt: skip
    return uuid.UUID(bytes=bytes.fromhex(digest)[:16], version=4)


async def register(ctx: Context, registration: Registration, key: str | None) -> Answer:
    """Create an account awaiting phone verification, or send its code again; answered
    alike whether or not the ID number has an account."""
    secret = ctx.settings.secret("jwt_secret")
    password_hash = await hash_off_loop(registration.password)
    code = await codes.new_code()
    details = {
        "full_name": registration.full_name,
        "date_of_birth": registration.date_of_birth,
        "phone": registration.phone,
        "email": registration.email,
        "password_hash": password_hash,
    }

    async def run(session: AsyncSession) -> Answer:
        account_id = await _register(ctx, session, registration, details, code)
        warnings = [
            field_error("id_number", message)
            for message in id_number_warnings(registration.id_number, registration.date_of_birth)
        ]
        return Answer(
            201, {"id": str(account_id), "status": AccountStatus.PENDING, "warnings": warnings}
        )

    scope = f"register:{pseudonym(secret, registration.id_number)}"
    return await ctx.once(scope, _retry(secret, registration, key), run)


async def _register(
    ctx: Context,
    session: AsyncSession,
    registration: Registration,
    details: dict[str, Any],
    code: NewCode,
) -> uuid.UUID:
    """The id to answer; every path takes one password check, one code and one event."""
    id_number, phone = registration.id_number, registration.phone
    created = await session.scalar(
        insert(accounts)
        .values(id=uuid.uuid4(), id_number=id_number, status=AccountStatus.PENDING, **details)
        .on_conflict_do_nothing(index_elements=[accounts.c.id_number])
        .returning(accounts.c.id)
    )
    if created is not None:
        await verify_decoy_off_loop(registration.password)
        await codes.issue(ctx, session, id_number, codes.REGISTER, code, (created, phone))
        return created
    existing = (
        await session.execute(
            select(accounts).where(accounts.c.id_number == id_number).with_for_update()
        )
    ).one()
    existing_id: uuid.UUID = existing.id
    stand_in = _stand_in_id(ctx.settings.secret("jwt_secret"), registration)
    now = datetime.now(UTC)
    if existing.status == AccountStatus.ACTIVE:
        await verify_decoy_off_loop(registration.password)
        await codes.issue(ctx, session, id_number, codes.REGISTER, code, None)
        await ctx.outbox.add(
            session,
            AccountRegistrationAttempted(
                account_id=existing_id, phone=existing.phone, attempted_at=now
            ),
        )
        return stand_in
    same_password = await verify_off_loop(existing.password_hash, registration.password)
    expired = existing.created_at + timedelta(seconds=ctx.settings.pending_registration_seconds)
    if expired <= now:
        # Never verified in time: a new registration for the number takes its place.
        await _renew(session, existing_id, {**details, "created_at": now})
        await codes.issue(ctx, session, id_number, codes.REGISTER, code, (existing_id, phone))
        return existing_id
    if same_password and existing.phone == phone:
        # The same citizen again (the first code may never have arrived): corrected
        # details, a new code to the same phone.
        await _renew(
            session, existing_id, {k: v for k, v in details.items() if k != "password_hash"}
        )
        await codes.issue(ctx, session, id_number, codes.REGISTER, code, (existing_id, phone))
        return existing_id
    # Another phone or password: nothing changes, and a new code goes to the
    # registration's own phone, the only one that can complete it.
    await codes.issue(ctx, session, id_number, codes.REGISTER, code, (existing_id, existing.phone))
    return stand_in


async def _renew(session: AsyncSession, account_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(accounts.update().where(accounts.c.id == account_id).values(**values))


async def _pending(ctx: Context, session: AsyncSession, id_number: str) -> Any:
    """The registration of `id_number` still awaiting its code, locked; None otherwise."""
    since = datetime.now(UTC) - timedelta(seconds=ctx.settings.pending_registration_seconds)
    return (
        await session.execute(
            select(accounts.c.id, accounts.c.phone)
            .where(
                accounts.c.id_number == id_number,
                accounts.c.status == AccountStatus.PENDING,
                accounts.c.created_at > since,
            )
            .with_for_update()
        )
    ).first()


async def resend_otp(ctx: Context, id_number: str) -> None:
    """A new code to the phone of a registration awaiting it; to nobody, in the same
    time, otherwise."""
    code = await codes.new_code()
    async with ctx.db.transaction() as session:
        account = await _pending(ctx, session, id_number)
        to = (account.id, account.phone) if account is not None else None
        await codes.issue(ctx, session, id_number, codes.REGISTER, code, to)


async def verify(ctx: Context, id_number: str, otp: str) -> None:
    """Activate an account with the code sent to its phone."""
    async with ctx.db.transaction() as session:
        opened = await codes.check(ctx, session, id_number, codes.REGISTER, otp)
        if isinstance(opened, uuid.UUID):
            await session.execute(
                accounts.update().where(accounts.c.id == opened).values(status=AccountStatus.ACTIVE)
            )
            return
    # Raised after the block: the counted attempt must commit, not roll back.
    raise opened


async def request_unlock(ctx: Context, id_number: str) -> None:
    """A code that lifts a lockout, to the verified phone of the account; to nobody, in
    the same time, when the ID number has no active account."""
    code = await codes.new_code()
    async with ctx.db.transaction() as session:
        account = await _active(session, id_number)
        to = (account.id, account.phone) if account is not None else None
        await codes.issue(ctx, session, id_number, codes.UNLOCK, code, to)


async def unlock(ctx: Context, id_number: str, otp: str, address: str) -> None:
    """With the code sent to the phone, lift the lockout of all addresses together and
    that of the caller's own (other addresses keep theirs)."""
    async with ctx.db.transaction() as session:
        opened = await codes.check(ctx, session, id_number, codes.UNLOCK, otp)
        if isinstance(opened, uuid.UUID):
            await ctx.lockout.forget(session, id_number, address)
            return
    raise opened


_WRONG_CREDENTIALS = "Số định danh hoặc mật khẩu không đúng."


async def authenticate(ctx: Context, username: str, password: str, address: str) -> tuple[str, int]:
    """A citizen's access token and its lifetime in seconds, for the right password."""
    id_number = username.strip()
    # Counted before the check (shared/db/lockout.py), in a short transaction: the slow
    # hash runs with no connection held.
    async with ctx.db.transaction() as session:
        attempt = await ctx.lockout.attempt(session, id_number, address)
        account = (
            await session.execute(select(accounts).where(accounts.c.id_number == id_number))
        ).first()
    if account is None:
        # As slow as a real check, and counted as one: nothing tells who has an account.
        await verify_decoy_off_loop(password)
    if account is None or not await verify_off_loop(account.password_hash, password):
        raise attempt.refusal() or Unauthenticated(
            _WRONG_CREDENTIALS, type_="urn:dvc:invalid-credentials"
        )
    async with ctx.db.transaction() as session:
        await ctx.lockout.succeeded(session, attempt)
    if account.status != AccountStatus.ACTIVE:
        raise Forbidden(
            "Tài khoản chưa được xác thực số điện thoại. Vui lòng nhập mã xác thực "
            "đã gửi qua tin nhắn, hoặc yêu cầu gửi lại mã.",
            type_="urn:dvc:account-not-verified",
        )
    return _token(ctx, account.id, account.session_version)


def _token(ctx: Context, account_id: uuid.UUID, version: int) -> tuple[str, int]:
    return ctx.tokens.issue(str(account_id), "citizen", sv=version)


async def session_version(db: Database, subject: str) -> int | None:
    """The account's current session version; None for no active account."""
    try:
        account_id = uuid.UUID(subject)
    except ValueError:
        return None
    # Read on every token's first use in a while (shared/security/sessions.py): one
    # statement, one round trip, without a transaction or the ORM session around it.
    async with db.statement() as connection:
        version: int | None = await _SESSION_VERSION.fetchval(
            connection, account_id, AccountStatus.ACTIVE
        )
    return version


_SESSION_VERSION = Sql("SELECT session_version FROM accounts WHERE id = $1 AND status = $2")


async def request_password_reset(ctx: Context, id_number: str) -> None:
    """A code that lets the owner choose a new password, to the verified phone of the
    account; to nobody, in the same time, when the ID number has no active account."""
    code = await codes.new_code()
    async with ctx.db.transaction() as session:
        account = await _active(session, id_number)
        to = (account.id, account.phone) if account is not None else None
        await codes.issue(ctx, session, id_number, codes.RESET, code, to)


async def _active(session: AsyncSession, id_number: str) -> Any:
    return (
        await session.execute(
            select(accounts.c.id, accounts.c.phone).where(
                accounts.c.id_number == id_number, accounts.c.status == AccountStatus.ACTIVE
            )
        )
    ).first()


async def _new_password(
    ctx: Context,
    session: AsyncSession,
    account_id: uuid.UUID,
    password_hash: str,
    how: Literal["reset", "change"],
) -> int:
    """Store the new password, end every session opened before (the new version), and
    have the owner told; the new session version."""
    now = datetime.now(UTC)
    changed = (
        await session.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(password_hash=password_hash, session_version=accounts.c.session_version + 1)
            .returning(
                accounts.c.session_version, accounts.c.phone, accounts.c.email,
                accounts.c.full_name,
            )
        )
    ).one()  # fmt: skip
    await ctx.outbox.add(
        session,
        AccountPasswordChanged(
            account_id=account_id, how=how, phone=changed.phone, email=changed.email,
            full_name=changed.full_name, changed_at=now,
        ),
    )  # fmt: skip
    version: int = changed.session_version
    return version


async def reset_password(
    ctx: Context, id_number: str, otp: str, new_password: str, address: str
) -> None:
    """With the code sent to the phone, a new password: every session ends, and the
    lockout of all addresses together and of the caller's own is lifted."""
    password_hash = await hash_off_loop(new_password)
    async with ctx.db.transaction() as session:
        opened = await codes.check(ctx, session, id_number, codes.RESET, otp)
        if isinstance(opened, uuid.UUID):
            version = await _new_password(ctx, session, opened, password_hash, "reset")
            await ctx.lockout.forget(session, id_number, address)
    # Raised after the block: the counted attempt must commit, not roll back.
    if not isinstance(opened, uuid.UUID):
        raise opened
    ctx.sessions.moved(str(opened), version)


async def change_password(
    ctx: Context, account_id: uuid.UUID, current: str, new_password: str, address: str
) -> tuple[str, int]:
    """The signed-in citizen's new password: every other session ends; this one goes on
    with the token answered. The current password is guessed like a sign-in: counted."""
    async with ctx.db.transaction() as session:
        account = (
            await session.execute(select(accounts).where(accounts.c.id == account_id))
        ).first()
        if account is None:
            raise Unauthenticated("Vui lòng đăng nhập lại.")
        attempt = await ctx.lockout.attempt(session, account.id_number, address)
    if not await verify_off_loop(account.password_hash, current):
        raise attempt.refusal() or Invalid(
            "Mật khẩu hiện tại không đúng.",
            errors=[field_error("current_password", "Mật khẩu hiện tại không đúng.")],
        )
    if new_password == current:
        raise Invalid(
            "Mật khẩu mới phải khác mật khẩu hiện tại.",
            errors=[field_error("new_password", "Mật khẩu mới phải khác mật khẩu hiện tại.")],
        )
    password_hash = await hash_off_loop(new_password)
    async with ctx.db.transaction() as session:
        await ctx.lockout.succeeded(session, attempt)
        version = await _new_password(ctx, session, account_id, password_hash, "change")
    ctx.sessions.moved(str(account_id), version)
    return _token(ctx, account_id, version)


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
