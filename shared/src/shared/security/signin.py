"""What a service whose own users sign in with a password needs (intake's citizens,
workflow's officers), built one way from its settings: the token issuer and its
verifier, retried requests, the lockout after wrong passwords, session versions and
abuse limits. The service names its audience, its tables and how an account's session
version is read; everything else is the same for both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Self, TypeVar

from sqlalchemy import Table

from shared.config import SignInSettings
from shared.db.idempotency import IdempotencyKeys
from shared.db.limits import RateLimits
from shared.db.lockout import SignInLockout
from shared.runtime import Resources
from shared.security.sessions import SessionVersions
from shared.security.tokens import TokenIssuer, TokenVerifier

SS = TypeVar("SS", bound=SignInSettings)


def token_issuer(settings: SignInSettings, audience: str) -> TokenIssuer:
    """The service's issuer: named after the service, keyed by its `jwt_secret`. Built
    before the context, as the JWKS router publishes its key."""
    return TokenIssuer(
        settings.secret("jwt_secret"),
        issuer=settings.service_name,
        audience=audience,
        ttl=timedelta(seconds=settings.token_ttl_seconds),
    )


@dataclass(frozen=True)
class SignInTables:
    """The service's own tables of the kit (each made by its shared `*_table(metadata)`)."""

    idempotency_keys: Table
    login_failures: Table
    rate_limits: Table


@dataclass(frozen=True)
class SignInResources(Resources[SS]):
    """The context of such a service: the runtime's parts and the sign-in kit (each
    service's Context extends it with its own)."""

    tokens: TokenIssuer
    verifier: TokenVerifier
    # Retried requests (`Idempotency-Key`) get their first answer again.
    idempotency: IdempotencyKeys
    # Wrong passwords, per account name and address and in all (shared/db/lockout.py).
    lockout: SignInLockout
    # Each account's session version: a token of an older one is refused.
    sessions: SessionVersions
    # Abuse limits: fixed-window counters (shared/db/limits.py).
    limits: RateLimits

    @classmethod
    def signing_in(
        cls,
        base: Resources[Any],
        settings: SignInSettings,
        tokens: TokenIssuer,
        tables: SignInTables,
        session_version: Callable[[str], Awaitable[int | None]],
        **own: Any,
    ) -> Self:
        """This context made of `base`'s parts, the kit built from `settings`, and the
        service's `own` parts."""
        # Every digest and sealed answer of the kit is keyed by the service's one secret.
        secret = settings.secret("jwt_secret")
        return cls.extend(
            base,
            tokens=tokens,
            verifier=tokens.verifier(),
            idempotency=IdempotencyKeys(tables.idempotency_keys, secret),
            lockout=SignInLockout(
                tables.login_failures,
                secret,
                max_failures=settings.login_max_failures,
                max_failures_all_addresses=settings.login_max_failures_all_addresses,
                lockout_seconds=settings.lockout_seconds,
            ),
            sessions=SessionVersions(session_version),
            limits=RateLimits(tables.rate_limits, secret),
            **own,
        )
