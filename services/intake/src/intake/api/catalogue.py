"""intake API: the procedure catalogue and the agencies (public)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from intake.api.deps import Ctx
from intake.services import catalogue

router = APIRouter(tags=["catalogue"])

Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/agencies")
async def list_agencies(
    ctx: Ctx,
    q: str | None = None,
    level: Literal["province", "district", "commune"] | None = None,
    parent_code: str | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Police units that receive dossiers, as a tree: filter by level and parent."""
    page = await catalogue.list_agencies(
        ctx, q=q, level=level, parent_code=parent_code, limit=limit, cursor=cursor
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/procedures")
async def search_procedures(
    ctx: Ctx,
    q: str | None = None,
    field: str | None = None,
    agency_code: str | None = None,
    limit: Limit = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Search the catalogue by words (with or without diacritics), field and agency."""
    page = await catalogue.search_procedures(
        ctx, q=q, field=field, agency_code=agency_code, limit=limit, cursor=cursor
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/procedures/{code}")
async def get_procedure(ctx: Ctx, code: str) -> dict[str, Any]:
    """One procedure with its declaration form schema, documents and cases."""
    return await catalogue.get_procedure(ctx, code)
