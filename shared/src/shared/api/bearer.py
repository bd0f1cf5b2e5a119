"""The bearer token of a request, read the same way by every service, so that each OpenAPI
document declares the `bearer` security scheme and every operation that reads a token
names it as its security requirement (and `shared.api.openapi` then documents 401/403)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
