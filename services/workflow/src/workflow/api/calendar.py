"""workflow API: the working-day calendar of a year, and appointment previews."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.api.dates import Day, Moment
from shared.api.openapi import problem_responses
from shared.errors import NotFound
from workflow.api.deps import Ctx, CurrentAdmin, current_admin
from workflow.services import calendars

router = APIRouter(tags=["calendar"])

Year = Annotated[int, Path(ge=2000, le=2100)]


Kind = Literal["holiday", "compensatory_day_off", "swapped_working_day", "half_day"]
Half = Literal["morning", "afternoon"]


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: Day
    kind: Kind
    name: str = Field(min_length=1, max_length=200)
    half: Half | None = None
    agency_code: str | None = Field(None, max_length=50)


class YearIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=500, description="The official notice.")
    entries: list[EntryIn] = Field(max_length=200)
    confirm: bool = Field(
        False,
        description="Required (true) when the edit changes a day already begun or a day on "
        "which an announced due date falls; without it such an edit answers 409 naming the "
        "days (`past_days`, `announced_days`). Every accepted edit is audited.",
    )


class EntryRead(BaseModel):
    day: date
    kind: Kind
    name: str
    half: Half | None
    agency_code: str | None


class YearRead(BaseModel):
    year: int
    source: str
    entries: list[EntryRead]
    revision: int
    updated_by: str
    updated_at: AwareDatetime


class YearSavedRead(YearRead):
    announced_due_dates_on_days_off: int = Field(
        description="Open dossiers whose announced due date the new calendar makes a day off."
    )
    changed_days: list[date] = Field(description="The days whose entries this edit changed.")


class ChangeRead(BaseModel):
    change: Literal["removed", "added"]
    day: date
    kind: Kind
    name: str
    half: Half | None
    agency_code: str | None


class EditRead(BaseModel):
    revision: int
    officer: str
    at: AwareDatetime
    source: str
    confirmed: bool = Field(description="Changed past days or announced due dates, confirmed.")
    changes: list[ChangeRead]
    past_days: list[date]
    announced_days: list[date]


class EditsRead(BaseModel):
    year: int
    items: list[EditRead]


@router.get("/calendar/{year}", response_model=YearRead, dependencies=[Depends(current_admin)])
async def get_year(year: Year, ctx: Ctx) -> dict[str, Any]:
    """A year's holidays, compensatory days off, swapped working days and half days."""
    return await calendars.get_year(ctx, year)


@router.put("/calendar/{year}", response_model=YearSavedRead, responses=problem_responses(409))
async def put_year(year: Year, body: YearIn, ctx: Ctx, admin: CurrentAdmin) -> dict[str, Any]:
    """Replace a year's calendar from the official notice (due dates announced stay).

    422 naming what is missing when a statutory fixed-date holiday (1/1, 30/4, 1/5, 2/9)
    would become a working day or the year has no entry; 409 unless `confirm` when past
    days or announced due dates change."""
    data = body.model_dump(mode="json", exclude={"confirm"})
    return await calendars.put_year(ctx, year, data, admin.name or str(admin.id),
                                    confirm=body.confirm)  # fmt: skip


@router.get("/calendar/{year}/edits", response_model=EditsRead,
            dependencies=[Depends(current_admin)])  # fmt: skip
async def year_edits(year: Year, ctx: Ctx) -> dict[str, Any]:
    """Who changed the year's calendar, when, what, and what they confirmed."""
    return await calendars.year_edits(ctx, year)


class OfficeHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    periods: list[list[str]] | None = Field(
        description='[["07:00", "11:30"], ["13:30", "17:00"]]; null: the parent\'s.',
        max_length=4,
    )


class OfficeHoursRead(BaseModel):
    agency_code: str
    periods: list[list[str]]
    own: bool = Field(description="Set for this agency, not inherited.")
    inherited_from: str | None


@router.get("/agencies/{code}/office-hours", response_model=OfficeHoursRead)
async def get_office_hours(code: str, ctx: Ctx, admin: CurrentAdmin) -> dict[str, Any]:
    """An agency's office hours (its own or inherited), which deadlines count in."""
    return await calendars.get_office_hours(ctx, admin.agency_code, code)


@router.put("/agencies/{code}/office-hours", response_model=OfficeHoursRead)
async def put_office_hours(
    code: str, body: OfficeHoursIn, ctx: Ctx, admin: CurrentAdmin
) -> dict[str, Any]:
    """Set the office hours of the administrator's agency or a unit under it."""
    return await calendars.put_office_hours(ctx, admin.agency_code, code, body.periods)


class PreviewRead(BaseModel):
    agency_code: str
    procedure_code: str
    processing_days: int
    received_at: AwareDatetime
    counted_from: AwareDatetime
    due_at: AwareDatetime


@router.get("/deadlines/preview", response_model=PreviewRead, responses=problem_responses(404))
async def preview(
    ctx: Ctx,
    agency_code: Annotated[str, Query(max_length=50)],
    procedure_code: Annotated[str, Query(max_length=50)],
    received_at: Annotated[Moment | None, Query()] = None,
) -> dict[str, Any]:
    """The appointment a dossier received at that moment would get (now by default)."""
    at = received_at or datetime.now(UTC)
    answer = await calendars.preview(ctx, agency_code, procedure_code, at)
    if answer is None:
        raise NotFound("Không tìm thấy thủ tục hoặc cơ quan thực hiện.")
    return answer
