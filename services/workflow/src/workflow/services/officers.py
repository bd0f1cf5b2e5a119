"""Officers: sign-in, and the demo officers of the demo agencies (development only)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared.errors import Unauthenticated
from shared.security.passwords import hash_secret, verify_secret
from workflow.adapters.tables import officers
from workflow.services.context import Context

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo_data" / "officers.json"
# Verified against when the username is unknown, so both answers take the same time.
_DUMMY_HASH = hash_secret("not-an-officer")


async def sign_in(ctx: Context, username: str, password: str) -> dict[str, Any]:
    """An officer's token, carrying their role and agency."""
    async with ctx.db.transaction() as session:
        row = (
            (await session.execute(select(officers).where(officers.c.username == username)))
            .mappings()
            .first()
        )
    valid = verify_secret(row["password_hash"] if row else _DUMMY_HASH, password)
    if row is None or not valid or not row["active"]:
        raise Unauthenticated(
            "Tên đăng nhập hoặc mật khẩu không đúng.",
        )
    token, expires_in = ctx.tokens.issue(
        str(row["id"]), row["role"], agency=row["agency_code"], name=row["full_name"]
    )
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


async def seed_demo_officers(ctx: Context, password: str, path: Path = DEMO_FILE) -> None:
    """Create the demo officers that do not exist yet (all with the same password)."""
    demo = json.loads(await asyncio.to_thread(path.read_text, encoding="utf-8"))["officers"]
    password_hash = hash_secret(password)
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
