"""workflow API: a dossier's synchronisation with the National Public Service Portal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from workflow.api.deps import Ctx, CurrentOfficer
from workflow.services import sync

router = APIRouter(tags=["national portal"])


class SyncStateRead(BaseModel):
    code: str
    last_status_code: int | None = Field(
        description="TrangThaiHoSo (1–10) of the last record the national portal accepted"
    )
    last_sent_at: AwareDatetime | None
    last_error: str | None = Field(
        description="Why the last attempt failed; null when it succeeded or none was made"
    )
    pending: int = Field(description="Records written and not yet accepted, oldest first")
    next_attempt_at: AwareDatetime | None
    records: int = Field(description="Records written for this dossier")
    synced: bool = Field(description="Every record written has been accepted")


@router.get("/dossiers/{code}/sync", response_model=SyncStateRead)
async def sync_state(code: str, ctx: Ctx, officer: CurrentOfficer) -> dict[str, Any]:
    """The dossier's synchronisation with the national portal (officers of its agency)."""
    return await sync.dossier_state(ctx, officer, code)
