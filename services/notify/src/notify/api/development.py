"""notify API, development only: what the development SMS provider kept (one-time codes
included). bootstrap serves it only in development with that provider; elsewhere the path
does not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from notify.api.deps import Ctx, current_operator
from notify.services import views

router = APIRouter(prefix="/api/v1", tags=["development"])


class DevSmsRead(BaseModel):
    id: int
    phone: str
    text: str
    created_at: datetime


class DevSmsListRead(BaseModel):
    items: list[DevSmsRead]


@router.get("/dev/sms", response_model=DevSmsListRead, dependencies=[Depends(current_operator)])
async def development_sms(
    ctx: Ctx,
    phone: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """What the development SMS provider recorded, newest first, for a signed-in officer."""
    return {"items": await views.dev_messages(ctx, phone, limit)}
