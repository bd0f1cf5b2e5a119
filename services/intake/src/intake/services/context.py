"""What intake's use cases need, built once per process by bootstrap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.gateway import PaymentGateway
from intake.adapters.oidc import OidcProvider
from intake.config import IntakeSettings
from intake.services.reference import ReferenceData
from shared.db.idempotency import Answer, Retry
from shared.security.signin import SignInResources
from shared.storage import ATTACHMENTS_BUCKET

__all__ = ["ATTACHMENTS_BUCKET", "Context"]


@dataclass(frozen=True)
class Context(SignInResources[IntakeSettings]):
    # The sign-in kit's lockout counts per ID number; its limits are services/limits.py.
    # The catalogue's procedures and agencies, kept in memory (see reference.py).
    reference: ReferenceData
    # The national identity provider (sign-in with VNeID, services/oidc.py).
    oidc: OidcProvider
    # The payment gateway of fees paid online (services/payments.py).
    gateway: PaymentGateway

    async def once(
        self, scope: str, retry: Retry, run: Callable[[AsyncSession], Awaitable[Answer]]
    ) -> Answer:
        """`run` in a transaction of its own, once per `Idempotency-Key`: a retry of the
        same request gets the first answer again."""
        async with self.db.transaction() as session:
            return await self.idempotency.once(session, scope, retry, lambda: run(session))

    async def once_sql(
        self,
        scope: str,
        retry: Retry,
        run: Callable[[asyncpg.Connection], Awaitable[Answer]],
        *,
        atomic: bool = True,
    ) -> Answer:
        """`once` for a use case whose statements are all `Sql`: in a driver transaction,
        without the ORM session (`Database.driver_transaction`). A use case that is not
        `atomic` (reads, then one write: nothing to commit together) runs without a
        transaction when no key is to be claimed, each statement committed on its own:
        BEGIN and COMMIT are two round trips of its four. It must then take nothing
        else from the database while it runs (it holds a `statement()` connection)."""
        if retry.key is None and not atomic:
            async with self.db.statement() as connection:
                return await run(connection)
        async with self.db.driver_transaction() as connection:
            return await self.idempotency.once(connection, scope, retry, lambda: run(connection))
