"""stats API: the processing report (JSON, CSV, XLSX), indicators, the public list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shared.api.dates import Day
from shared.api.openapi import problem_responses
from shared.runtime import context_of
from stats.domain.period import Period
from stats.services import reports
from stats.services.context import Context
from stats.services.reports import GroupBy, ReportFormat

router = APIRouter(tags=["reports"])

AgencyCode = Annotated[str | None, Query(max_length=50)]
From = Annotated[Day, Query(alias="from", description="Ngày đầu kỳ (YYYY-MM-DD)")]
To = Annotated[Day, Query(alias="to", description="Ngày cuối kỳ (YYYY-MM-DD), tính cả ngày đó")]

# `agency_code` naming no agency.
UNKNOWN_AGENCY = problem_responses(404)

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Ctx = Annotated[Context, Depends(context_of)]

# Counters are summed as floats; one never counted in the period stays the integer 0.
Number = int | float


class ReportTotalsRead(BaseModel):
    """On every row `total` = `resolved` + `in_progress_in_time` + `in_progress_overdue` +
    `awaiting_supplement` + `awaiting_fee` + `stopped` + `returned_rejected` + `withdrawn`,
    and `total` = the three carried over + `received`."""

    carried_over_in_time: int = Field(description="Open at the start, not waiting, not due.")
    carried_over_overdue: int = Field(description="Open at the start, not waiting, past due.")
    carried_over_awaiting_supplement: int = Field(
        description="Open at the start, waiting for the citizen's supplement."
    )
    received: int
    received_online: int
    received_direct: int
    total: int
    resolved: int
    resolved_early: int
    resolved_on_time: int
    resolved_late: int
    on_time_rate: float | None = Field(description="Percent, one decimal; null: none resolved.")
    on_time_rate_text: str = Field(examples=["99,3%"])
    in_progress_in_time: int
    in_progress_overdue: int
    awaiting_supplement: int
    awaiting_fee: int = Field(description="Open at the end, waiting for the fee to be paid.")
    stopped: int = Field(
        description="Processing stopped in the period: the supplement deadline passed."
    )
    returned_rejected: int = Field(description="Returned or refused in the period (Trả lại).")
    withdrawn: int


class ReportRowRead(ReportTotalsRead):
    key: str = Field(description="The agency's or procedure's code, or the field.")
    name: str


class ReportRead(BaseModel):
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    group_by: GroupBy
    agency_code: str | None
    rows: list[ReportRowRead]
    totals: ReportTotalsRead


class RatioRead(BaseModel):
    numerator: Number
    denominator: Number
    value: float | None = Field(description="null where the denominator is 0.")


class OnTimeRead(RatioRead):
    late_for_supplements: int = Field(
        description="Dossiers resolved or in progress in time counted late because a "
        "supplement was requested more than once (Decision 766)."
    )


class SatisfactionRead(BaseModel):
    """100 − (overdue share + share rated poorly or complained about), both shares over
    the dossiers handled (Decision 766); null when none was handled."""

    overdue: int
    handled: int
    rated: Number
    rated_poor: Number
    value: float | None


class IndicatorSetRead(BaseModel):
    on_time_rate: OnTimeRead
    online_rate: RatioRead
    online_payment_rate: RatioRead
    national_sync_rate: RatioRead = Field(
        description="Of the dossiers received, those whose current status the national "
        "portal has accepted (Decision 766)."
    )
    digitisation_rate: RatioRead
    e_result_rate: RatioRead
    satisfaction: SatisfactionRead
    average_processing_days: RatioRead


class IndicatorsRead(BaseModel):
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    agency_code: str | None
    indicators: IndicatorSetRead


class AwaitingPickupRead(BaseModel):
    code: str
    applicant_name: str | None = Field(description="Masked unless the service shows names.")
    procedure_name: str | None
    agency_name: str | None
    result_ready_at: datetime


class AwaitingPickupPageRead(BaseModel):
    items: list[AwaitingPickupRead]
    next_cursor: str | None


@dataclass(frozen=True)
class ReportQuery:
    start: From
    end: To
    group_by: GroupBy = "agency"
    agency_code: AgencyCode = None


Params = Annotated[ReportQuery, Depends()]


async def _report(ctx: Context, query: ReportQuery) -> dict[str, Any]:
    period = Period(query.start, query.end)
    return await reports.processing_report(ctx.db, period, query.group_by, query.agency_code)


@router.get("/reports/processing", response_model=ReportRead, responses=UNKNOWN_AGENCY)
async def processing(ctx: Ctx, query: Params) -> dict[str, Any]:
    """Seed 001's table for the period: one row per agency, procedure or field, and totals."""
    return await _report(ctx, query)


def _file_answer(description: str, media: str) -> dict[int | str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": {media: binary}}, **UNKNOWN_AGENCY}


@router.get(
    "/reports/processing.csv",
    response_class=Response,
    responses=_file_answer("The report as CSV, UTF-8 with a byte-order mark.", CSV),
)
async def processing_csv(ctx: Ctx, query: Params) -> Response:
    """The same report as CSV (UTF-8)."""
    return await _file(ctx, query, "csv", f"{CSV}; charset=utf-8")


@router.get(
    "/reports/processing.xlsx",
    response_class=Response,
    responses=_file_answer("The report as a spreadsheet (Biểu II.06a).", XLSX),
)
async def processing_xlsx(ctx: Ctx, query: Params) -> Response:
    """The same report as a spreadsheet with the official form's headings."""
    return await _file(ctx, query, "xlsx", XLSX)


async def _file(ctx: Context, query: ReportQuery, kind: ReportFormat, media: str) -> Response:
    period = Period(query.start, query.end)
    content = await reports.processing_report_file(
        ctx.db, period, query.group_by, query.agency_code, kind
    )
    name = f"bao-cao-giai-quyet-tthc-{query.start:%Y%m%d}-{query.end:%Y%m%d}.{kind}"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/indicators", response_model=IndicatorsRead, responses=UNKNOWN_AGENCY)
async def indicators(
    ctx: Ctx, start: From, end: To, agency_code: AgencyCode = None
) -> dict[str, Any]:
    """Service-quality indicators (Decision 766) with numerators and denominators."""
    return await reports.indicators(ctx.db, Period(start, end), agency_code)


@router.get(
    "/public/awaiting-pickup", response_model=AwaitingPickupPageRead, responses=UNKNOWN_AGENCY
)
async def awaiting_pickup(
    ctx: Ctx,
    agency_code: AgencyCode = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,7}$")] = None,
) -> dict[str, Any]:
    """Dossiers whose result waits to be collected; applicants' names masked by default."""
    return await reports.awaiting_pickup(
        ctx.db, agency_code, full_names=ctx.settings.public_full_names, limit=limit,
        offset=int(cursor or 0),
    )  # fmt: skip
