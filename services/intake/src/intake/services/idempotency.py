"""`Idempotency-Key`: the same key with the same body gives the same answer, once.

The key is claimed inside the use case's own transaction: a concurrent retry blocks on
the claim until the first commits, then reads its stored answer; a retry after a crash
finds no claim (it rolled back with everything else) and simply runs again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import idempotency_keys
from intake.services.sealing import seal, unseal
from shared.api.problems import Problem


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def request_hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


async def claim(
    session: AsyncSession, secret: str, scope: str, key: str | None, fingerprint: str
) -> Replay | None:
    """Claim `key` for this request; the stored answer if an earlier request had it."""
    if key is None:
        return None
    if not 1 <= len(key) <= 200:
        raise Problem(400, "Idempotency-Key phải dài từ 1 đến 200 ký tự.")
    claimed = await session.execute(
        insert(idempotency_keys)
        .values(scope=scope, key=key, request_hash=fingerprint, status_code=0, response={})
        .on_conflict_do_nothing()
        .returning(idempotency_keys.c.key)
    )
    if claimed.first() is not None:
        return None
    row = (
        (
            await session.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
                )
            )
        )
        .mappings()
        .one()
    )
    if row["request_hash"] != fingerprint:
        raise Problem(
            422, "Idempotency-Key này đã được dùng cho một yêu cầu khác.",
            type_="urn:dvc:idempotency-key-reused",
        )  # fmt: skip
    return Replay(row["status_code"], unseal(secret, row["response"]["sealed"]))


async def remember(
    session: AsyncSession,
    secret: str,
    scope: str,
    key: str | None,
    status_code: int,
    body: dict[str, Any],
) -> None:
    if key is None:
        return
    await session.execute(
        idempotency_keys.update()
        .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        .values(status_code=status_code, response={"sealed": seal(secret, body)})
    )
