"""intake API: public tracking by dossier code."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from intake.api.deps import ClientAddress, Ctx
from intake.api.schemas import SupplementDueAt, Timestamp, WorkingDaysLeft
from intake.services import views
from shared.api.openapi import problem_responses
from shared.contracts.events import DossierStatus

router = APIRouter(tags=["tracking"])


class TrackingRead(BaseModel):
    code: str
    status: DossierStatus
    procedure_name: str
    agency_name: str
    submitted_at: Timestamp | None
    received_at: Timestamp | None
    due_at: Timestamp | None
    resolved_at: Timestamp | None
    supplement_due_at: SupplementDueAt = None
    working_days_left: WorkingDaysLeft = None


@router.get("/tracking/{code}", response_model=TrackingRead, responses=problem_responses(429))
async def track(code: str, ctx: Ctx, address: ClientAddress) -> dict[str, Any]:
    """Status and dates of a dossier for anyone with its code; no personal data."""
    return await views.public_tracking(ctx, code, address)
