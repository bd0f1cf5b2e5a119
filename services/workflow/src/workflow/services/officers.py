"""Officers: sign-in, and the demo officers of the demo agencies (development only)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, case, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.limits import MINUTE, QUARTER
from shared.errors import Locked, Unauthenticated
from shared.security.passwords import hash_secret, verify_secret
from workflow.adapters.tables import login_failures, officers
from workflow.services.context import Context

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo_data" / "officers.json"
# Verified against when the username is unknown, so both answers take the same time.
_DUMMY_HASH = hash_secret("not-an-officer")
_WRONG_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."
_MAX_LOCKOUT = timedelta(days=1)
# A day without a wrong password forgets the earlier ones (and so the doubling).
_FORGET = timedelta(days=1)
# One sign-in in this many also deletes forgotten failures: the sweep scans the table.
_SWEEP_ONE_IN = 100


async def _matches(stored_hash: str, password: str) -> bool:
    # Argon2 takes tens of milliseconds of CPU: off the event loop.
    return await asyncio.to_thread(verify_secret, stored_hash, password)


def _address_key(secret: str, address: str) -> str:
    """What is stored of the client's address: a keyed digest, not the address."""
    key = hashlib.sha256(f"login-address:{secret}".encode()).digest()
    return hmac.new(key, address.encode(), "sha256").hexdigest()[:32]


def _lockout(lockout_seconds: int, failures: int, max_failures: int) -> timedelta:
    """Every `max_failures`-th failure in a row locks, each time twice as long (to a day)."""
    rounds = failures // max_failures
    return min(timedelta(seconds=lockout_seconds * 2 ** min(rounds - 1, 20)), _MAX_LOCKOUT)


def _locked(until: datetime, now: datetime) -> Locked:
    retry_after = max(1, math.ceil((until - now).total_seconds()))
    return Locked(
        "Tài khoản tạm thời bị khóa do nhập sai mật khẩu nhiều lần. "
        f"Vui lòng thử lại sau {math.ceil(retry_after / 60)} phút.",
        title="Tài khoản tạm thời bị khóa",
        type_="urn:dvc:account-locked",
        retry_after=retry_after,
    )


async def sign_in(ctx: Context, username: str, password: str, address: str) -> dict[str, Any]:
    """An officer's token, carrying their role and agency, for the right password."""
    settings = ctx.settings
    await ctx.limits.hit(ctx.db, f"login-ip:{address}", settings.limit_login_per_ip_minute, MINUTE)
    await ctx.limits.hit(
        ctx.db, f"login-user:{username}", settings.limit_login_per_username_15min, QUARTER
    )
    async with ctx.db.transaction() as session:
        row = (
            (await session.execute(select(officers).where(officers.c.username == username)))
            .mappings()
            .first()
        )
        attempt = None
        if row is not None:
            attempt = await _count_attempt(
                ctx, session, row["id"], _address_key(settings.secret("jwt_secret"), address)
            )
    # Verified outside the transaction, so no connection waits on the hash.
    if row is None or attempt is None:
        # As slow as a real check, so the answer time does not tell who is an officer.
        await _matches(_DUMMY_HASH, password)
        raise Unauthenticated(_WRONG_CREDENTIALS)
    if not await _matches(row["password_hash"], password):
        if attempt.locked_until is not None:
            raise _locked(attempt.locked_until, attempt.at)
        raise Unauthenticated(_WRONG_CREDENTIALS)
    async with ctx.db.transaction() as session:
        await session.execute(login_failures.delete().where(attempt.pair))
    if not row["active"]:
        raise Unauthenticated(_WRONG_CREDENTIALS)
    token, expires_in = ctx.tokens.issue(
        str(row["id"]), row["role"], agency=row["agency_code"], name=row["full_name"]
    )
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


@dataclass(frozen=True)
class _Attempt:
    pair: ColumnElement[bool]
    at: datetime
    # Set when this attempt, if wrong, is the one that locks.
    locked_until: datetime | None


async def _count_attempt(
    ctx: Context, session: AsyncSession, officer_id: uuid.UUID, address_key: str
) -> _Attempt:
    """Count the attempt as a failure before the password is checked (a right one then
    clears the count): however many guesses arrive at once, each is counted and only
    `login_max_failures` of them are checked before the lock. Refused while locked."""
    settings = ctx.settings
    table = login_failures
    now = datetime.now(UTC)
    pair = (table.c.officer_id == officer_id) & (table.c.address == address_key)
    failures = await session.scalar(
        insert(table)
        .values(officer_id=officer_id, address=address_key, failures=1, updated_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.officer_id, table.c.address],
            set_={
                "failures": case(
                    (table.c.updated_at < now - _FORGET, 1), else_=table.c.failures + 1
                ),
                "locked_until": None,
                "updated_at": now,
            },
            # A locked pair counts nothing more: guessing must stop, even the right password.
            where=or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        )
        .returning(table.c.failures)
    )
    if failures is None:
        locked_until = await session.scalar(select(table.c.locked_until).where(pair))
        raise _locked(locked_until or now, now)
    locked_until = None
    if failures % settings.login_max_failures == 0:
        locked_until = now + _lockout(
            settings.lockout_seconds, failures, settings.login_max_failures
        )
        await session.execute(table.update().where(pair).values(locked_until=locked_until))
    if random.randrange(_SWEEP_ONE_IN) == 0:
        await session.execute(table.delete().where(table.c.updated_at < now - _FORGET))
    return _Attempt(pair, now, locked_until)


async def seed_demo_officers(ctx: Context, password: str, path: Path = DEMO_FILE) -> None:
    """Create the demo officers that do not exist yet (all with the same password)."""
    demo = json.loads(await asyncio.to_thread(path.read_text, encoding="utf-8"))["officers"]
    password_hash = await asyncio.to_thread(hash_secret, password)
    async with ctx.db.transaction() as session:
        for officer in demo:
            await session.execute(
                insert(officers)
                .values(
                    id=uuid.uuid5(uuid.NAMESPACE_URL, f"dvc-officer:{officer['username']}"),
                    password_hash=password_hash,
                    **officer,
                )
                .on_conflict_do_nothing()
            )
