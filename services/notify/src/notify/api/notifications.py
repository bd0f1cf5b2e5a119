"""notify API: deliveries and their statuses, and templates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from notify.api.deps import Ctx, CurrentAdmin, CurrentOperator, current_operator
from notify.domain.delivery import AttemptOutcome, DeliveryStatus
from notify.services import sender, templates, views
from shared.api.openapi import problem_responses
from shared.contracts import events as ev

router = APIRouter(tags=["notifications"])


class AttemptRead(BaseModel):
    attempt: int
    at: datetime
    outcome: AttemptOutcome
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    dossier_code: str | None
    channel: ev.Channel
    recipient: str = Field(description="Masked unless the reader is an administrator.")
    template: str
    template_version: int
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    subject: str | None
    body: str = Field(description="The message as sent, a one-time code masked.")
    history: list[AttemptRead]


class DeliveryPageRead(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None


class ResendRead(BaseModel):
    id: uuid.UUID
    status: DeliveryStatus


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(None, max_length=300)
    body: str = Field(min_length=1, max_length=5000)


class TemplateSavedRead(BaseModel):
    key: str
    version: int
    subject: str | None
    body: str
    created_by: str


class TemplateRead(TemplateSavedRead):
    created_at: datetime


class TemplateListRead(BaseModel):
    items: list[TemplateRead]


class TemplateHistoryRead(BaseModel):
    key: str
    versions: list[TemplateRead]


@router.get("/notifications", response_model=DeliveryPageRead, responses=problem_responses(400))
async def list_notifications(
    ctx: Ctx,
    operator: CurrentOperator,
    dossier_code: Annotated[str | None, Query(max_length=64)] = None,
    recipient: Annotated[str | None, Query(max_length=200)] = None,
    status: DeliveryStatus | None = None,
    channel: ev.Channel | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Deliveries of the officer's agency (an admin's: and below), newest first; phone
    numbers and emails masked except for admins, who alone may filter by recipient."""
    return await views.list_deliveries(
        ctx, operator.reader, dossier_code=dossier_code, recipient=recipient,
        status=status, channel=channel, limit=limit, cursor=cursor,
    )  # fmt: skip


@router.post(
    "/notifications/{delivery_id}/resend",
    response_model=ResendRead,
    responses=problem_responses(409),
)
async def resend(delivery_id: uuid.UUID, ctx: Ctx, admin: CurrentAdmin) -> dict[str, Any]:
    """Send a dead or failed delivery of the admin's agency (or below) again."""
    return await sender.resend(ctx, admin.reader, delivery_id)


@router.get("/templates", response_model=TemplateListRead, dependencies=[Depends(current_operator)])
async def list_templates(ctx: Ctx) -> dict[str, Any]:
    """The templates in force (the newest version of each)."""
    return {"items": await templates.list_current(ctx)}


@router.get(
    "/templates/{key}",
    response_model=TemplateHistoryRead,
    dependencies=[Depends(current_operator)],
)
async def template_history(key: str, ctx: Ctx) -> dict[str, Any]:
    """Every version of one template, newest first."""
    return {"key": key, "versions": await templates.history(ctx, key)}


@router.put("/templates/{key}", response_model=TemplateSavedRead)
async def save_template(
    key: str, body: TemplateIn, ctx: Ctx, admin: CurrentAdmin
) -> dict[str, Any]:
    """A new version of a template, used for messages rendered from now on."""
    return await templates.save(ctx, key, body.subject, body.body, admin.name or admin.id)
