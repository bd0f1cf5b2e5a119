"""Officers: sign-in, and the demo officers of the demo agencies (development only)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared.db.limits import MINUTE, QUARTER
from shared.errors import Unauthenticated
from shared.security.passwords import hash_secret, verify_secret
from workflow.adapters.tables import officers
from workflow.services.context import Context

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo_data" / "officers.json"
# Verified against when the username is unknown, so both answers take the same time.
_DUMMY_HASH = hash_secret("not-an-officer")
_WRONG_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."


async def _matches(stored_hash: str, password: str) -> bool:
    # Argon2 takes tens of milliseconds of CPU: off the event loop.
    return await asyncio.to_thread(verify_secret, stored_hash, password)


async def sign_in(ctx: Context, username: str, password: str, address: str) -> dict[str, Any]:
    """An officer's token, carrying their role and agency, for the right password."""
    settings = ctx.settings
    await ctx.limits.hit(ctx.db, f"login-ip:{address}", settings.limit_login_per_ip_minute, MINUTE)
    await ctx.limits.hit(
        ctx.db, f"login-user:{username}", settings.limit_login_per_username_15min, QUARTER
    )
    # Counted before the check (shared/db/lockout.py), in a short transaction: the slow
    # hash runs with no connection held.
    async with ctx.db.transaction() as session:
        attempt = await ctx.lockout.attempt(session, username, address)
        row = (
            (await session.execute(select(officers).where(officers.c.username == username)))
            .mappings()
            .first()
        )
    if row is None:
        # As slow as a real check, so the answer time does not tell who is an officer.
        await _matches(_DUMMY_HASH, password)
    if row is None or not await _matches(row["password_hash"], password):
        raise attempt.refusal() or Unauthenticated(_WRONG_CREDENTIALS)
    async with ctx.db.transaction() as session:
        await ctx.lockout.succeeded(session, attempt)
    if not row["active"]:
        raise Unauthenticated(_WRONG_CREDENTIALS)
    token, expires_in = ctx.tokens.issue(
        str(row["id"]), row["role"], agency=row["agency_code"], name=row["full_name"]
    )
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


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
