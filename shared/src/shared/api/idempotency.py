"""`Idempotency-Key`: the same key with the same body gives the same answer, once.

The key is claimed inside the use case's own transaction: a concurrent retry blocks on
the claim until the first commits, then reads its stored answer; a retry after a crash
finds no claim (it rolled back with everything else) and simply runs again. Answers are
stored encrypted with a key derived from the service's secret, as they may carry secrets
(a submission's answer holds the dossier's update code).

Each service keeps the keys in its own database: `idempotency_table(metadata)`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet
from pydantic_core import to_json
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.api.problems import Problem


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("scope", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("request_hash", Text, nullable=False),
        Column("status_code", SmallInteger, nullable=False),
        Column("response", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("scope", "key"),
    )


def _fernet(secret: str) -> Fernet:
    return Fernet(
        base64.urlsafe_b64encode(hashlib.sha256(f"idempotency:{secret}".encode()).digest())
    )


def seal(secret: str, body: dict[str, Any]) -> str:
    # Serialised as the API serialises its answers, so a replay reads exactly the same.
    return _fernet(secret).encrypt(to_json(body)).decode()


def unseal(secret: str, token: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_fernet(secret).decrypt(token.encode()))
    return body


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def request_hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


async def claim(
    session: AsyncSession,
    table: Table,
    secret: str,
    scope: str,
    key: str | None,
    fingerprint: str,
) -> Replay | None:
    """Claim `key` for this request; the stored answer if an earlier request had it."""
    if key is None:
        return None
    if not 1 <= len(key) <= 200:
        raise Problem(400, "Idempotency-Key phải dài từ 1 đến 200 ký tự.")
    claimed = await session.execute(
        insert(table)
        .values(scope=scope, key=key, request_hash=fingerprint, status_code=0, response={})
        .on_conflict_do_nothing()
        .returning(table.c.key)
    )
    if claimed.first() is not None:
        return None
    row = (
        (await session.execute(select(table).where(table.c.scope == scope, table.c.key == key)))
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
    table: Table,
    secret: str,
    scope: str,
    key: str | None,
    status_code: int,
    body: dict[str, Any],
) -> None:
    if key is None:
        return
    await session.execute(
        table.update()
        .where(table.c.scope == scope, table.c.key == key)
        .values(status_code=status_code, response={"sealed": seal(secret, body)})
    )
