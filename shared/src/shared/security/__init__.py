"""Signed tokens (EdDSA JWTs with a JWKS endpoint) and password hashing."""

from shared.security.tokens import (
    Claims,
    RemoteTokenVerifier,
    TokenError,
    TokenIssuer,
    TokenVerifier,
    jwks_router,
)

__all__ = [
    "Claims",
    "RemoteTokenVerifier",
    "TokenError",
    "TokenIssuer",
    "TokenVerifier",
    "jwks_router",
]
