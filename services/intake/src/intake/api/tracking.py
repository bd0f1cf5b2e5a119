"""intake API: public tracking by dossier code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter

from intake.api.deps import ClientAddress, Ctx
from intake.services import views
from intake.services.limits import hit

router = APIRouter(tags=["tracking"])


@router.get("/tracking/{code}")
async def track(code: str, ctx: Ctx, address: ClientAddress) -> dict[str, Any]:
    """Status and dates of a dossier for anyone with its code; no personal data."""
    await hit(ctx, f"tracking-ip:{address}", 600, timedelta(hours=1))
    return await views.public_tracking(ctx, code)
