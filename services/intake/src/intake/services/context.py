"""What intake's use cases need, built once per process by bootstrap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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
