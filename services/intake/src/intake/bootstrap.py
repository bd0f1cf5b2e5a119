"""The composition root of intake: every dependency is chosen here, once."""

from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from intake.adapters.gateway import PaymentGateway
from intake.adapters.oidc import OidcProvider
from intake.adapters.tables import idempotency_keys, login_failures, rate_limits
from intake.api import router
from intake.config import IntakeSettings
from intake.consumers import HANDLERS
from intake.services import accounts, catalogue
from intake.services.context import ATTACHMENTS_BUCKET, Context
from intake.services.reference import ReferenceData
from intake.services.sweeper import sweeper_worker
from shared.runtime import Resources, ServiceDefinition
from shared.security import CITIZEN_AUDIENCE, jwks_router
from shared.security.signin import SignInTables, token_issuer


def payment_gateway(settings: IntakeSettings) -> PaymentGateway:
    return PaymentGateway(
        settings.gateway_url,
        tmn_code=settings.gateway_tmn_code,
        hash_secret=settings.secret("gateway_hash_secret"),
        return_url=settings.gateway_return_url,
        payment_minutes=settings.gateway_payment_minutes,
        timeout=settings.gateway_http_timeout_seconds,
    )


def build(settings: IntakeSettings | None = None) -> ServiceDefinition[Context]:
    settings = settings or IntakeSettings()
    tokens = token_issuer(settings, CITIZEN_AUDIENCE)
    tables = SignInTables(idempotency_keys, login_failures, rate_limits)

    async def context(resources: Resources[Any]) -> Context:
        session_version = partial(accounts.session_version, resources.db)
        ctx = Context.signing_in(
            resources,
            settings,
            tokens,
            tables,
            session_version,
            reference=ReferenceData(resources.db, settings.catalogue_cache_seconds),
            oidc=OidcProvider(
                settings.oidc_issuer,
                client_id=settings.oidc_client_id,
                client_secret=settings.secret("oidc_client_secret"),
                timeout=settings.oidc_http_timeout_seconds,
                metadata_ttl=timedelta(seconds=settings.oidc_metadata_seconds),
                jwks_refresh_interval=timedelta(seconds=settings.oidc_jwks_refresh_seconds),
                leeway=timedelta(seconds=settings.oidc_leeway_seconds),
            ),
            gateway=payment_gateway(settings),
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
        workers=[sweeper_worker],
        buckets=(ATTACHMENTS_BUCKET,),
    )
