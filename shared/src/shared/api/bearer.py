"""The bearer token of a request, read the same way by every service, so that each OpenAPI
document declares the `bearer` security scheme and every operation that reads a token
names it as its security requirement (and `shared.api.openapi` then documents 401/403)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, Unauthenticated
from shared.security.sessions import SessionVersions
from shared.security.tokens import Claims, TokenError, TokenVerifier

SCHEME = "bearer"

# Not FastAPI's own refusal (auto_error): without a token each service decides, and its
# refusal is the 401 problem+json with `WWW-Authenticate: Bearer` the contract promises.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name=SCHEME,
    bearerFormat="JWT",
    description="`Authorization: Bearer <token>`: a citizen's token from intake, an "
    "officer's from workflow.",
)


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The token of `Authorization: Bearer <token>`; None without one. (A coroutine: a
    plain function would run on a worker thread.)"""
    if credentials is None:
        return None
    return credentials.credentials.strip() or None


BearerToken = Annotated[str | None, Depends(bearer_token)]

# `openapi_extra` of a route a caller may also use without signing in (another proof
# stands in): the empty requirement says that no credentials is acceptable as well.
SIGN_IN_OPTIONAL: dict[str, Any] = {"security": [{}]}


async def live_session_claims(
    token: str,
    verifier: TokenVerifier,
    sessions: SessionVersions,
    *,
    allowed: Callable[[Claims], bool],
    refused: str,
) -> Claims:
    """The claims of `token` when it is valid, of a caller `allowed` to use this service
    and of a live session; otherwise the 401 (invalid, expired, or a session ended by a
    password change) or the 403 (`refused`: a token of another kind of caller). The kind
    is checked before the session: a token of another service's accounts has no session
    here, and must hear that it is the wrong kind, not that it ended."""
    try:
        claims = verifier.verify(token)
    except TokenError:
        raise Unauthenticated(
            "Phiên đăng nhập không hợp lệ hoặc đã hết hạn, vui lòng đăng nhập lại.",
        ) from None
    if not allowed(claims):
        raise Forbidden(refused)
    if not await sessions.valid(claims.subject, claims.extra):
        raise Unauthenticated("Phiên đăng nhập đã kết thúc, vui lòng đăng nhập lại.")
    return claims
