"""Officers: sign-in, their own password, the session versions their tokens carry, the
first administrator of an installation, and the demo officers (development only)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.db.limits import MINUTE, QUARTER
from shared.errors import Conflict, Invalid, Unauthenticated, field_error
from shared.security.passwords import hash_off_loop, verify_decoy_off_loop, verify_off_loop
from workflow.adapters.tables import officer_changes, officers
from workflow.domain.staff import check_password, check_roles, primary_role, temporary_password
from workflow.services.changes import Officer
from workflow.services.context import Context

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo_data" / "officers.json"
_WRONG_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."
# The claim of a token that may do nothing but change its temporary password.
MUST_CHANGE = "pwd_change"


def _token(ctx: Context, row: Any) -> dict[str, Any]:
    roles = list(row["roles"])
    extra: dict[str, Any] = {
        "agency": row["agency_code"], "name": row["full_name"], "roles": roles,
        "username": row["username"], "sv": row["session_version"],
    }  # fmt: skip
    if row["must_change_password"]:
        extra[MUST_CHANGE] = True
    token, expires_in = ctx.tokens.issue(str(row["id"]), primary_role(roles), **extra)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "must_change_password": bool(row["must_change_password"]),
    }


async def sign_in(ctx: Context, username: str, password: str, address: str) -> dict[str, Any]:
    """An officer's token, carrying their roles and agency, for the right password."""
    settings = ctx.settings
    await ctx.limits.hit(ctx.db, f"login-ip:{address}", settings.limit_login_per_ip_minute, MINUTE)
    await ctx.limits.hit(
        ctx.db, f"login-user:{username}", settings.limit_login_per_username_15min, QUARTER
    )
    # Counted before the check (shared/db/lockout.py), in a short transaction: the slow
    # hash runs with no connection held.
    async with ctx.db.transaction() as session:
        attempt = await ctx.lockout.attempt(session, username, address)
        row = await _officer(session, username)
    if row is None:
        # As slow as a real check, so the answer time does not tell who is an officer.
        await verify_decoy_off_loop(password)
    if row is None or not await verify_off_loop(row["password_hash"], password):
        raise attempt.refusal() or Unauthenticated(_WRONG_CREDENTIALS)
    async with ctx.db.transaction() as session:
        await ctx.lockout.succeeded(session, attempt)
    if not row["active"]:
        raise Unauthenticated(_WRONG_CREDENTIALS)
    return _token(ctx, row)


async def _officer(session: AsyncSession, username: str, *, lock: bool = False) -> Any:
    query = select(officers).where(officers.c.username == username)
    return (await session.execute(query.with_for_update() if lock else query)).mappings().first()


async def change_password(
    ctx: Context, officer: Officer, current: str, new: str, address: str
) -> dict[str, Any]:
    """The signed-in officer's own new password; every other session ends, and this one
    goes on with the token answered."""
    check_password(new, username=officer.username, current=current)
    # The current password is guessed like a sign-in: counted, and locked out alike.
    async with ctx.db.transaction() as session:
        attempt = await ctx.lockout.attempt(session, officer.username, address)
        row = await _officer(session, officer.username)
    if row is None or not await verify_off_loop(row["password_hash"], current):
        raise attempt.refusal() or Invalid(
            "Mật khẩu hiện tại không đúng.",
            errors=[field_error("current_password", "Mật khẩu hiện tại không đúng.")],
        )
    password_hash = await hash_off_loop(new)
    async with ctx.db.transaction() as session:
        await ctx.lockout.succeeded(session, attempt)
        changed = await set_password(
            session, row["id"], password_hash, temporary=False, active_only=True
        )
        if changed is None:
            raise Unauthenticated("Tài khoản đã bị vô hiệu hóa.")
        await audit(session, officer, changed, "change_password", {"password": "changed"})
    ctx.sessions.moved(str(changed["id"]), changed["session_version"])
    return _token(ctx, changed)


async def set_password(
    session: AsyncSession,
    officer_id: Any,
    password_hash: str,
    *,
    temporary: bool,
    active_only: bool,
) -> Any:
    """The officer's new password (a temporary one must be changed at the next sign-in);
    every session opened before ends, as the session version moves. The officer's row
    after the change, or None if there is none (or, with `active_only`, none active)."""
    query = officers.update().where(officers.c.id == officer_id)
    if active_only:
        query = query.where(officers.c.active)
    changed = await session.execute(
        query.values(
            password_hash=password_hash,
            must_change_password=temporary,
            session_version=officers.c.session_version + 1,
            updated_at=func.now(),
        ).returning(*officers.c)
    )
    return changed.mappings().first()


async def audit(
    session: AsyncSession,
    actor: Officer | None,
    officer: Any,
    action: str,
    changes: dict[str, Any],
) -> None:
    """One row of the officers' audit: who (None: the command line), when, what."""
    await session.execute(
        officer_changes.insert().values(
            at=func.now(),
            actor_id=actor.id if actor else None,
            actor_name=actor.name if actor else "command line",
            actor_agency=actor.agency_code if actor else None,
            officer_id=officer["id"],
            username=officer["username"],
            agency_code=officer["agency_code"],
            action=action,
            changes=changes,
        )
    )


async def session_version(db: Database, subject: str) -> int | None:
    """The officer's current session version; None when unknown or deactivated."""
    try:
        officer_id = uuid.UUID(subject)
    except ValueError:
        return None
    async with db.transaction() as session:
        version: int | None = await session.scalar(
            select(officers.c.session_version).where(officers.c.id == officer_id, officers.c.active)
        )
    return version


async def temporary_credentials() -> tuple[str, str]:
    """A temporary password and its hash, made before the transaction: the slow hash must
    not hold a connection."""
    password = temporary_password()
    return password, await hash_off_loop(password)


async def insert_new_officer(
    session: AsyncSession,
    *,
    username: str,
    full_name: str,
    roles: Sequence[str],
    agency_code: str,
    password_hash: str,
    phone: str | None,
    email: str | None,
) -> Any:
    """A new officer with a temporary password, to be changed at first sign-in: the row,
    or None when the username is taken (by the insert itself, so that two creations of
    one name at once cannot both succeed)."""
    return (
        (
            await session.execute(
                insert(officers)
                .values(
                    id=uuid.uuid4(),
                    username=username,
                    full_name=full_name,
                    roles=roles,
                    agency_code=agency_code,
                    password_hash=password_hash,
                    phone=phone,
                    email=email,
                    must_change_password=True,
                )
                .on_conflict_do_nothing(index_elements=[officers.c.username])
                .returning(*officers.c)
            )
        )
        .mappings()
        .first()
    )


async def create_admin(
    db: Database,
    *,
    username: str,
    full_name: str,
    agency_code: str,
    phone: str | None = None,
    email: str | None = None,
) -> str:
    """The first administrator of an installation (`python -m workflow create-admin`):
    their temporary password, to be changed at first sign-in."""
    password, password_hash = await temporary_credentials()
    async with db.transaction() as session:
        created = await insert_new_officer(
            session, username=username, full_name=full_name, roles=check_roles(["admin"]),
            agency_code=agency_code, password_hash=password_hash, phone=phone, email=email,
        )  # fmt: skip
        if created is None:
            raise Conflict(f"Tên đăng nhập {username} đã có.")
        await audit(session, None, created, "create", {"roles": [None, ["admin"]]})
    return password


async def seed_demo_officers(ctx: Context, password: str, path: Path = DEMO_FILE) -> None:
    """Create the demo officers that do not exist yet (all with the same password)."""
    demo = json.loads(await asyncio.to_thread(path.read_text, encoding="utf-8"))["officers"]
    password_hash = await hash_off_loop(password)
    async with ctx.db.transaction() as session:
        for officer in demo:
            await session.execute(
                insert(officers)
                .values(
                    id=uuid.uuid5(uuid.NAMESPACE_URL, f"dvc-officer:{officer['username']}"),
                    password_hash=password_hash,
                    **{**officer, "roles": check_roles(officer["roles"])},
                )
                .on_conflict_do_nothing()
            )
