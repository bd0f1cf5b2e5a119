"""`Idempotency-Key`: the same key with the same body gives the same answer, once.

The key is claimed inside the use case's own transaction: a concurrent retry blocks on
the claim until the first commits, then reads its stored answer; a retry after a crash
finds no claim (it rolled back with everything else) and simply runs again. Answers are
stored encrypted with a key derived from the service's secret, as they may carry secrets
(a submission's answer holds the dossier's update code).

Each service keeps the keys in its own database (`idempotency_table(metadata)`) and
runs every retriable use case through `IdempotencyKeys.once`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
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

from shared.errors import BadRequest, Invalid


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
class Answer:
    """What a retriable use case answers: replayed as it was to a retry of its request."""

    status_code: int
    body: dict[str, Any]


def request_hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Retry:
    """The `Idempotency-Key` of a request and a fingerprint of what it asked: the same key
    and request get the first answer again instead of running twice."""

    key: str | None
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, *parts: Any) -> Retry:
        return cls(key, request_hash(*parts))


NO_RETRY = Retry(None, "")


@dataclass(frozen=True)
class IdempotencyKeys:
    """A service's table of keys and the secret its stored answers are sealed with."""

    table: Table
    secret: str

    async def once(
        self,
        session: AsyncSession,
        scope: str,
        retry: Retry,
        run: Callable[[], Awaitable[Answer]],
    ) -> Answer:
        """`run()` in the caller's transaction, unless `retry` was answered before: then
        that answer. A refusal raised by `run` rolls the claim back with everything else,
        so a corrected retry with the same key runs afresh."""
        if retry.key is None:
            return await run()
        if not 1 <= len(retry.key) <= 200:
            raise BadRequest("Idempotency-Key phải dài từ 1 đến 200 ký tự.")
        table = self.table
        claimed = await session.execute(
            insert(table)
            .values(
                scope=scope, key=retry.key, request_hash=retry.fingerprint,
                status_code=0, response={},
            )
            .on_conflict_do_nothing()
            .returning(table.c.key)
        )  # fmt: skip
        if claimed.first() is None:
            row = (
                (
                    await session.execute(
                        select(table).where(table.c.scope == scope, table.c.key == retry.key)
                    )
                )
                .mappings()
                .one()
            )
            if row["request_hash"] != retry.fingerprint:
                raise Invalid(
                    "Idempotency-Key này đã được dùng cho một yêu cầu khác.",
                    type_="urn:dvc:idempotency-key-reused",
                )
            return Answer(row["status_code"], unseal(self.secret, row["response"]["sealed"]))
        answer = await run()
        await session.execute(
            table.update()
            .where(table.c.scope == scope, table.c.key == retry.key)
            .values(
                status_code=answer.status_code,
                response={"sealed": seal(self.secret, answer.body)},
            )
        )
        return answer
