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
from dataclasses import dataclass, field
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
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.sql import Runner, Sql, json_text
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
        # Without a key nothing is ever compared: the whole request is not hashed for it.
        if key is None:
            return NO_RETRY
        return cls(key, request_hash(*parts))


NO_RETRY = Retry(None, "")


@dataclass(frozen=True)
class IdempotencyKeys:
    """A service's table of keys and the secret its stored answers are sealed with."""

    table: Table
    secret: str
    # Written once from the table's name (see shared/db/sql.py): a claim costs the driver's
    # work alone, in a session's transaction or a driver transaction alike.
    _claim: Sql = field(init=False, repr=False)
    _claimed: Sql = field(init=False, repr=False)
    _answered: Sql = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name = self.table.name
        statements = {
            "_claim": f"INSERT INTO {name} (scope, key, request_hash, status_code, response)"  # noqa: S608 - the table's name, from the code
            " VALUES ($1, $2, $3, 0, '{}') ON CONFLICT DO NOTHING RETURNING key",
            "_claimed": f"SELECT request_hash, status_code, response FROM {name}"  # noqa: S608
            " WHERE scope = $1 AND key = $2",
            "_answered": f"UPDATE {name} SET status_code = $3, response = $4"  # noqa: S608
            " WHERE scope = $1 AND key = $2",
        }
        for attribute, text in statements.items():
            object.__setattr__(self, attribute, Sql(text))

    async def once(
        self,
        session: Runner,
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
        if await self._claim.fetchval(session, scope, retry.key, retry.fingerprint) is None:
            row = await self._claimed.fetchrow(session, scope, retry.key)
            if row is None:  # not claimed here, so committed by another: it exists
                raise LookupError(f"idempotency key of {scope} claimed but not found")
            if row["request_hash"] != retry.fingerprint:
                raise Invalid(
                    "Idempotency-Key này đã được dùng cho một yêu cầu khác.",
                    type_="urn:dvc:idempotency-key-reused",
                )
            return Answer(row["status_code"], unseal(self.secret, row["response"]["sealed"]))
        answer = await run()
        sealed = json_text({"sealed": seal(self.secret, answer.body)})
        await self._answered.execute(session, scope, retry.key, answer.status_code, sealed)
        return answer
