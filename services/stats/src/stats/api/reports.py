"""stats API: the processing report (JSON, CSV, XLSX), indicators, the public list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from shared.runtime import context_of
from stats.adapters import exports
from stats.domain.period import Period
from stats.services import reports
from stats.services.context import Context
from stats.services.reports import GroupBy

router = APIRouter(tags=["reports"])

AgencyCode = Annotated[str | None, Query(max_length=50)]
From = Annotated[date, Query(alias="from", description="Ngày đầu kỳ (YYYY-MM-DD)")]
To = Annotated[date, Query(alias="to", description="Ngày cuối kỳ (YYYY-MM-DD), tính cả ngày đó")]


Ctx = Annotated[Context, Depends(context_of)]


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


@router.get("/reports/processing")
async def processing(ctx: Ctx, query: Params) -> dict[str, Any]:
    """Seed 001's table for the period: one row per agency, procedure or field, and totals."""
    return await _report(ctx, query)


@router.get("/reports/processing.csv", response_class=Response)
async def processing_csv(ctx: Ctx, query: Params) -> Response:
    """The same report as CSV (UTF-8)."""
    data = await _report(ctx, query)
    return _file(exports.to_csv(data), "text/csv; charset=utf-8", "csv", query)


@router.get("/reports/processing.xlsx", response_class=Response)
async def processing_xlsx(ctx: Ctx, query: Params) -> Response:
    """The same report as a spreadsheet with the official form's headings."""
    data = await _report(ctx, query)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _file(exports.to_xlsx(data), media, "xlsx", query)


def _file(content: bytes, media: str, extension: str, query: ReportQuery) -> Response:
    name = f"bao-cao-giai-quyet-tthc-{query.start:%Y%m%d}-{query.end:%Y%m%d}.{extension}"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/indicators")
async def indicators(
    ctx: Ctx, start: From, end: To, agency_code: AgencyCode = None
) -> dict[str, Any]:
    """Service-quality indicators (Decision 766) with numerators and denominators."""
    return await reports.indicators(ctx.db, Period(start, end), agency_code)


@router.get("/public/awaiting-pickup")
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
