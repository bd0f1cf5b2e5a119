"""The processing report, the indicators and the public list, read from the projections.

A report reads counters, never dossiers: the period is cut into whole years, months and
days (domain.counting.pieces), so a year over a million dossiers reads a few rows per
agency and counter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.errors import NotFound
from shared.pages import split_page
from stats.adapters import exports
from stats.adapters.tables import agencies, counts, facts, procedures
from stats.domain import report
from stats.domain.counting import pieces
from stats.domain.period import Period
from stats.domain.public import shown_name
from stats.services.projection import ALL_AGENCIES, ALL_PROCEDURES

GroupBy = Literal["agency", "procedure", "field"]


async def scope(session: AsyncSession, agency_code: str | None) -> list[str] | None:
    """The agency and all its units (None: every agency)."""
    if agency_code is None:
        return None
    tree = select(agencies.c.code).where(agencies.c.code == agency_code).cte(recursive=True)
    tree = tree.union_all(select(agencies.c.code).where(agencies.c.parent_code == tree.c.code))
    codes = list((await session.execute(select(tree.c.code))).scalars())
    if not codes:
        raise NotFound("Không tìm thấy cơ quan này.")
    return codes


def _in_pieces(period: Period) -> ColumnElement[bool]:
    start, end = period.start, period.end + timedelta(days=1)
    conditions = []
    for piece in [*pieces(None, start), *pieces(start, end)]:
        lower = counts.c.start >= piece.start if piece.start else literal(True)
        conditions.append(and_(counts.c.unit == piece.unit, lower, counts.c.start < piece.end))
    return or_(*conditions)


async def _sums(
    session: AsyncSession, period: Period, group_by: GroupBy, codes: list[str] | None
) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """Per group: counters summed before the period, and during it."""
    if group_by == "agency":
        key: Any = counts.c.agency_code
        query = select(key.label("key")).where(
            counts.c.procedure_code == ALL_PROCEDURES, counts.c.agency_code != ALL_AGENCIES
        )
    elif group_by == "procedure":
        key = counts.c.procedure_code
        query = select(key.label("key")).where(counts.c.procedure_code != ALL_PROCEDURES)
    else:
        key = func.coalesce(procedures.c.field, "")
        query = (
            select(key.label("key"))
            .select_from(counts.outerjoin(procedures, procedures.c.code == counts.c.procedure_code))
            .where(counts.c.procedure_code != ALL_PROCEDURES)
        )
    segment = case((counts.c.start < period.start, "before"), else_="during")
    query = query.add_columns(counts.c.metric, segment.label("segment"),
                              func.sum(counts.c.value).label("value"))  # fmt: skip
    query = query.where(_in_pieces(period)).group_by(key, counts.c.metric, segment)
    if codes is not None:
        query = query.where(counts.c.agency_code.in_(codes))
    elif group_by != "agency":
        query = query.where(counts.c.agency_code == ALL_AGENCIES)
    groups: dict[str, tuple[dict[str, float], dict[str, float]]] = defaultdict(lambda: ({}, {}))
    for row in (await session.execute(query)).mappings():
        before, during = groups[row["key"]]
        (before if row["segment"] == "before" else during)[row["metric"]] = row["value"]
    return groups


async def _names(session: AsyncSession, group_by: GroupBy, keys: Sequence[str]) -> dict[str, str]:
    if group_by == "field":
        return {k: report.FIELDS.get(k, k) for k in keys}
    table = agencies if group_by == "agency" else procedures
    rows = await session.execute(select(table.c.code, table.c.name).where(table.c.code.in_(keys)))
    return dict(rows.all())


async def processing_report(
    db: Database, period: Period, group_by: GroupBy, agency_code: str | None
) -> dict[str, Any]:
    """The report of seed 001 for the period: one row per group, and the totals."""
    period.check()
    async with db.transaction() as session:
        codes = await scope(session, agency_code)
        groups = await _sums(session, period, group_by, codes)
        names = await _names(session, group_by, list(groups))
    rows = report.rows(groups, names)
    return {
        "from": period.start,
        "to": period.end,
        "group_by": group_by,
        "agency_code": agency_code,
        "rows": rows,
        "totals": report.add(rows),
    }


ReportFormat = Literal["csv", "xlsx"]


async def processing_report_file(
    db: Database, period: Period, group_by: GroupBy, agency_code: str | None, kind: ReportFormat
) -> bytes:
    """The same report as a file: CSV (UTF-8) or a spreadsheet with the form's headings."""
    data = await processing_report(db, period, group_by, agency_code)
    return exports.to_csv(data) if kind == "csv" else exports.to_xlsx(data)


async def indicators(db: Database, period: Period, agency_code: str | None) -> dict[str, Any]:
    """The indicators of Decision 766 for the agency (and its units) over the period."""
    period.check()
    async with db.transaction() as session:
        codes = await scope(session, agency_code)
        groups = await _sums(session, period, "agency", codes)
    before, during = report.combined(groups.values())
    return {
        "from": period.start,
        "to": period.end,
        "agency_code": agency_code,
        "indicators": report.indicators(before, during),
    }


async def awaiting_pickup(
    db: Database, agency_code: str | None, *, full_names: bool, limit: int, offset: int
) -> dict[str, Any]:
    """Dossiers whose result is ready and waits to be collected (seed 001's public list)."""
    async with db.transaction() as session:
        codes = await scope(session, agency_code)
        query = (
            select(facts.c.code, facts.c.applicant_name, facts.c.resolved_at,
                   procedures.c.name.label("procedure_name"), agencies.c.name.label("agency_name"))
            .select_from(
                facts.outerjoin(procedures, procedures.c.code == facts.c.procedure_code)
                .outerjoin(agencies, agencies.c.code == facts.c.agency_code)
            )
            .where(facts.c.resolved_at.is_not(None), facts.c.returned_at.is_(None),
                   facts.c.withdrawn_at.is_(None))
            .order_by(facts.c.resolved_at, facts.c.code)
            .limit(limit + 1)
            .offset(offset)
        )  # fmt: skip
        if codes is not None:
            query = query.where(facts.c.agency_code.in_(codes))
        rows = (await session.execute(query)).mappings().all()
    page, cursor = split_page(rows, limit, lambda _: str(offset + limit))
    items = [
        {
            "code": r["code"],
            "applicant_name": shown_name(r["applicant_name"], full=full_names),
            "procedure_name": r["procedure_name"],
            "agency_name": r["agency_name"],
            "result_ready_at": r["resolved_at"],
        }
        for r in page
    ]
    return {"items": items, "next_cursor": cursor}
