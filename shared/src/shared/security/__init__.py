"""Signed tokens (EdDSA JWTs with a JWKS endpoint) and password hashing."""

from shared.security.tokens import (
    CITIZEN_AUDIENCE,
    OFFICER_AUDIENCE,
    Claims,
    RemoteTokenVerifier,
    TokenError,
    TokenIssuer,
    TokenVerifier,
    jwks_router,
)

__all__ = [
    "CITIZEN_AUDIENCE",
    "OFFICER_AUDIENCE",
    "Claims",
    "RemoteTokenVerifier",
    "TokenError",
    "TokenIssuer",
    "TokenVerifier",
    "jwks_router",
]
