"""What intake's routers share: the context, the caller, retried requests.

Every dependency is a coroutine function: FastAPI runs a plain function on a worker
thread, a hop that costs more than reading a header or verifying a remembered token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.responses import JSONResponse

from intake.services.context import Context
from shared.api.bearer import BearerToken, live_session_claims
from shared.api.caller import ClientAddress as ClientAddress  # the routers' import
from shared.api.idempotency import IdempotencyKey as IdempotencyKey  # the routers' import
from shared.db.idempotency import Answer
from shared.errors import Unauthenticated
from shared.runtime import context_of

Ctx = Annotated[Context, Depends(context_of)]


@dataclass(frozen=True)
class Citizen:
    account_id: uuid.UUID


async def optional_citizen(ctx: Ctx, token: BearerToken) -> Citizen | None:
    if token is None:
        return None
    # A password reset or change ends every session opened before it.
    claims = await live_session_claims(
        token, ctx.verifier, ctx.sessions,
        allowed=lambda claims: claims.role == "citizen",
        refused="Tài khoản này không dùng được cho cổng dịch vụ công.",
    )  # fmt: skip
    return Citizen(uuid.UUID(claims.subject))


async def current_citizen(citizen: Annotated[Citizen | None, Depends(optional_citizen)]) -> Citizen:
    if citizen is None:
        raise Unauthenticated("Vui lòng đăng nhập để thực hiện thao tác này.")
    return citizen


CurrentCitizen = Annotated[Citizen, Depends(current_citizen)]
OptionalCitizen = Annotated[Citizen | None, Depends(optional_citizen)]


def replayable(answer: Answer) -> JSONResponse:
    """A retriable use case's answer, sent as stored: a retry reads the very same body."""
    return JSONResponse(answer.body, status_code=answer.status_code)
