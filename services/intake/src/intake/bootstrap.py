"""The composition root of intake: every dependency is chosen here, once."""

from datetime import timedelta
from pathlib import Path
from typing import Any

from intake.adapters.tables import idempotency_keys, rate_limits
from intake.api import router
from intake.config import IntakeSettings
from intake.consumers import HANDLERS
from intake.services import catalogue
from intake.services.context import ATTACHMENTS_BUCKET, Context
from intake.services.reference import ReferenceData
from shared.db.idempotency import IdempotencyKeys
from shared.db.limits import RateLimits
from shared.runtime import Resources, ServiceDefinition
from shared.security import CITIZEN_AUDIENCE, TokenIssuer, jwks_router


def build(settings: IntakeSettings | None = None) -> ServiceDefinition[Context]:
    settings = settings or IntakeSettings()
    tokens = TokenIssuer(
        settings.secret("jwt_secret"),
        issuer="intake",
        audience=CITIZEN_AUDIENCE,
        ttl=timedelta(seconds=settings.token_ttl_seconds),
    )

    async def context(resources: Resources[Any]) -> Context:
        ctx = Context.extend(
            resources,
            tokens=tokens,
            verifier=tokens.verifier(),
            idempotency=IdempotencyKeys(idempotency_keys, settings.secret("jwt_secret")),
            limits=RateLimits(rate_limits, settings.secret("jwt_secret")),
            reference=ReferenceData(resources.db, settings.catalogue_cache_seconds),
        )
        # The catalogue shipped with this version of the service is the one in force.
        await catalogue.load_catalogue(ctx)
        return ctx

    return ServiceDefinition(
        name="intake",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        context=context,
        routers=[router, jwks_router(tokens)],
        handlers=HANDLERS,
        buckets=(ATTACHMENTS_BUCKET,),
    )
