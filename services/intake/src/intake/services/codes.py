"""One-time codes sent by SMS (phone verification, unlocking, password reset, linking the
national identity), one per ID number and purpose.

A code is asked for and checked in the same way, in the same time, whether or not the ID
number has an account that can receive it: when none can, a stand-in is stored that was
sent to nobody, so that the answers and the attempts they count tell nobody who has an
account. Only a code stored with its account opens anything.

A real code travels to notify inside `account.otp_requested`, written to the outbox in
the transaction that stores its hash: a code is sent if and only if it can be verified.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import one_time_codes
from intake.domain.identity import new_otp
from intake.services.context import Context
from intake.services.sealing import pseudonym
from shared.contracts.events import AccountOtpRequested
from shared.errors import Gone, Invalid, Refused
from shared.security.passwords import hash_off_loop, verify_decoy_off_loop, verify_off_loop

Purpose = Literal["register", "unlock", "reset_password", "link_identity"]
REGISTER: Purpose = "register"
UNLOCK: Purpose = "unlock"
RESET: Purpose = "reset_password"
LINK: Purpose = "link_identity"
# One write in this many also deletes expired codes (stand-ins are never used up).
_SWEEP_ONE_IN = 100


@dataclass(frozen=True)
class NewCode:
    otp: str
    code_hash: str


async def new_code() -> NewCode:
    """A fresh code and its hash, made before any transaction opens."""
    otp = new_otp()
    return NewCode(otp, await hash_off_loop(otp))


def subject_of(ctx: Context, id_number: str) -> str:
    """The stand-in for an ID number in the keys of codes and counters."""
    return pseudonym(ctx.settings.secret("jwt_secret"), id_number)


async def issue(
    ctx: Context,
    session: AsyncSession,
    id_number: str,
    purpose: Purpose,
    code: NewCode,
    to: tuple[uuid.UUID, str] | None,
) -> None:
    """Replace the ID number's code for `purpose`; have notify send it to the phone of
    `to` (account id, phone), or keep it unsent when there is no one to send it to."""
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=ctx.settings.otp_ttl_seconds)
    values = {
        "account_id": to[0] if to else None, "code_hash": code.code_hash,
        "expires_at": expires_at, "attempts": 0, "created_at": now,
    }  # fmt: skip
    await session.execute(
        insert(one_time_codes)
        .values(subject=subject_of(ctx, id_number), purpose=purpose, **values)
        .on_conflict_do_update(
            index_elements=[one_time_codes.c.subject, one_time_codes.c.purpose], set_=values
        )
    )
    if to is not None:
        await ctx.outbox.add(
            session,
            AccountOtpRequested(
                account_id=to[0], purpose=purpose, phone=to[1], otp=code.otp, expires_at=expires_at
            ),
        )
    if random.randrange(_SWEEP_ONE_IN) == 0:
        await session.execute(delete(one_time_codes).where(one_time_codes.c.expires_at < now))


def _request_new_code(detail: str) -> Refused:
    return Gone(f"{detail} Vui lòng yêu cầu gửi lại mã xác thực mới.", type_="urn:dvc:otp-expired")


async def check(
    ctx: Context, session: AsyncSession, id_number: str, purpose: Purpose, otp: str
) -> uuid.UUID | Refused:
    """The account a right code opens, the code used up; otherwise the refusal to raise
    once the transaction has committed the counted attempt."""
    max_attempts = ctx.settings.otp_max_attempts
    where = (
        one_time_codes.c.subject == subject_of(ctx, id_number),
        one_time_codes.c.purpose == purpose,
    )
    # Locked so that concurrent guesses are counted one after another.
    code = (await session.execute(select(one_time_codes).where(*where).with_for_update())).first()
    if code is None or code.expires_at <= datetime.now(UTC):
        await verify_decoy_off_loop(otp)
        return _request_new_code("Mã xác thực đã hết hạn hoặc không còn hiệu lực.")
    if code.attempts >= max_attempts:
        await verify_decoy_off_loop(otp)
        return _request_new_code("Mã xác thực đã bị nhập sai quá số lần cho phép.")
    # A stand-in never opens anything, even in the one-in-a-million case it is guessed.
    if await verify_off_loop(code.code_hash, otp) and code.account_id is not None:
        await session.execute(one_time_codes.delete().where(*where))
        account_id: uuid.UUID = code.account_id
        return account_id
    attempts = code.attempts + 1
    await session.execute(one_time_codes.update().where(*where).values(attempts=attempts))
    remaining = max(0, max_attempts - attempts)
    detail = (
        f"Mã xác thực không đúng. Bạn còn {remaining} lần thử."
        if remaining
        else "Mã xác thực không đúng. Bạn đã hết số lần thử, vui lòng yêu cầu gửi lại mã mới."
    )
    return Invalid(
        detail,
        title="Mã xác thực không đúng",
        type_="urn:dvc:otp-wrong",
        remaining_attempts=remaining,
    )
