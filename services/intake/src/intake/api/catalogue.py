"""intake API: the procedure catalogue and the agencies (public)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from intake.api.deps import Ctx
from intake.api.schemas import PageRead
from intake.services import catalogue
from intake.services.pages import Page
from shared.api.openapi import problem_responses

router = APIRouter(tags=["catalogue"])

Limit = Annotated[int, Query(ge=1, le=200)]
Level = Literal["province", "district", "commune"]


class AgencyRead(BaseModel):
    code: str
    name: str
    level: Level
    parent_code: str | None
    province: str
    code_status: Literal["official", "demo"] = Field(
        description="official: the unit's e-ID (Decision 20/2020/QĐ-TTg); demo: a code "
        "shaped like one standing in for it."
    )


class ProcedureSummaryRead(BaseModel):
    code: str
    code_scope: Literal["national", "local"] = Field(
        description="national: the MaTTHC of the national procedure database, its source "
        "found; local: a code of this portal, not to be shown as national."
    )
    name: str
    field: str
    online_level: Literal["full", "partial"]
    authority_levels: list[str]
    processing_days: int
    fee_vnd: int


# Fields of stored JSON in the order jsonb keeps them, which is the order answered.
class DocumentRead(BaseModel):
    code: str
    name: str
    required: bool
    max_files: int
    accepted_types: list[str]


class CaseRead(BaseModel):
    code: str
    name: str


class ProcedureRead(ProcedureSummaryRead):
    applicant_kinds: list[str]
    cutoff_time: str
    supplement_days: int | None = Field(
        None,
        description="Working days to supplement when asked (ThoiHanBoSung); null: the "
        "default of the rules (10).",
    )
    form_schema: dict[str, Any]
    documents: list[DocumentRead]
    cases: list[CaseRead]
    catalogue_version: str


@router.get("/agencies", response_model=PageRead[AgencyRead])
async def list_agencies(
    ctx: Ctx,
    q: str | None = None,
    level: Level | None = None,
    parent_code: str | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> Page:
    """Police units that receive dossiers, as a tree: filter by level and parent."""
    return await catalogue.list_agencies(
        ctx, q=q, level=level, parent_code=parent_code, limit=limit, cursor=cursor
    )


@router.get(
    "/procedures",
    response_model=PageRead[ProcedureSummaryRead],
    # `agency_code` naming no agency.
    responses=problem_responses(404),
)
async def search_procedures(
    ctx: Ctx,
    q: str | None = None,
    field: str | None = None,
    agency_code: str | None = None,
    limit: Limit = 20,
    cursor: str | None = None,
) -> Page:
    """Search the catalogue by words (with or without diacritics), field and agency."""
    return await catalogue.search_procedures(
        ctx, q=q, field=field, agency_code=agency_code, limit=limit, cursor=cursor
    )


@router.get("/procedures/{code}", response_model=ProcedureRead)
async def get_procedure(ctx: Ctx, code: str) -> dict[str, Any]:
    """One procedure with its declaration form schema, documents and cases."""
    return await catalogue.get_procedure(ctx, code)
