"""workflow API: the working-day calendar of a year, and appointment previews."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.errors import NotFound
from workflow.api.deps import Ctx, CurrentAdmin
from workflow.services import calendars

router = APIRouter(tags=["calendar"])

Year = Annotated[int, Path(ge=2000, le=2100)]


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    kind: Literal["holiday", "compensatory_day_off", "swapped_working_day", "half_day"]
    name: str = Field(min_length=1, max_length=200)
    half: Literal["morning", "afternoon"] | None = None
    agency_code: str | None = Field(None, max_length=50)


class YearIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=500, description="The official notice.")
    entries: list[EntryIn] = Field(max_length=200)


@router.get("/calendar/{year}")
async def get_year(year: Year, ctx: Ctx, admin: CurrentAdmin) -> dict[str, Any]:
    """A year's holidays, compensatory days off, swapped working days and half days."""
    return await calendars.get_year(ctx, year)


@router.put("/calendar/{year}")
async def put_year(year: Year, body: YearIn, ctx: Ctx, admin: CurrentAdmin) -> dict[str, Any]:
    """Replace a year's calendar from the official notice (due dates announced stay)."""
    return await calendars.put_year(ctx, year, body.model_dump(), admin.name or str(admin.id))


class OfficeHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    periods: list[list[str]] | None = Field(
        description='[["07:00", "11:30"], ["13:30", "17:00"]]; null: the parent\'s.',
        max_length=4,
    )


@router.get("/agencies/{code}/office-hours")
async def get_office_hours(code: str, ctx: Ctx, admin: CurrentAdmin) -> dict[str, Any]:
    """An agency's office hours (its own or inherited), which deadlines count in."""
    return await calendars.get_office_hours(ctx, admin.agency_code, code)


@router.put("/agencies/{code}/office-hours")
async def put_office_hours(
    code: str, body: OfficeHoursIn, ctx: Ctx, admin: CurrentAdmin
) -> dict[str, Any]:
    """Set the office hours of the administrator's agency or a unit under it."""
    return await calendars.put_office_hours(ctx, admin.agency_code, code, body.periods)


@router.get("/deadlines/preview")
async def preview(
    ctx: Ctx,
    agency_code: Annotated[str, Query(max_length=50)],
    procedure_code: Annotated[str, Query(max_length=50)],
    received_at: Annotated[AwareDatetime | None, Query()] = None,
) -> dict[str, Any]:
    """The appointment a dossier received at that moment would get (now by default)."""
    at = received_at or datetime.now(UTC)
    answer = await calendars.preview(ctx, agency_code, procedure_code, at)
    if answer is None:
        raise NotFound("Không tìm thấy thủ tục hoặc cơ quan thực hiện.")
    return answer
