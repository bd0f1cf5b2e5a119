"""Signed tokens (EdDSA JWTs with a JWKS endpoint) and password hashing."""

from shared.security.tokens import Claims, TokenError, TokenIssuer, TokenVerifier, jwks_router

__all__ = ["Claims", "TokenError", "TokenIssuer", "TokenVerifier", "jwks_router"]
