"""The working-day calendars as an administrator keeps them, and the deadline engine of
an agency built from them.

The years shipped with the service (calendar_data/) are stored the first time it starts;
from then on the database is the truth and an administrator edits a year through the API.
Editing a year never moves a due date already announced: due dates are stored on the
dossier when computed, and only a later computation (a resumption after a supplement)
uses the new calendar. The answer to an edit says how many announced due dates now fall
on a day off, so the administrator can tell those citizens.

An edit that would make a statutory fixed-date holiday a working day (or empty the year)
is refused; one that changes days already begun or days on which announced due dates
fall must be confirmed (`confirm`); every accepted edit is recorded in `calendar_edits`.

The calendars in force are published (`calendar.published`, every year with its revision)
when the service starts and with every accepted edit, so intake counts the working days
left to the citizen's due date from the same days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendar import Calendar, YearCalendar
from shared.contracts import events as ev
from shared.contracts.events import VIETNAM
from shared.errors import Conflict, Invalid, NotFound, field_error, invalid_field
from workflow.adapters.tables import agencies, calendar_edits, calendar_years, cases, procedures
from workflow.domain.calendar import (
    describe_changes,
    missing_statutory_holidays,
    review_edit,
    shipped_years,
)
from workflow.domain.deadlines import WORKING_DAY, DeadlineEngine, OfficeHours
from workflow.domain.lifecycle import OPEN
from workflow.services.context import Context


async def store_shipped_years(ctx: Context) -> None:
    """Store the shipped years an administrator has not entered yet, and publish the
    calendars in force: a consumer that lost its copy gets it back at the next start."""
    async with ctx.db.transaction() as session:
        for year, calendar in shipped_years().items():
            await session.execute(
                insert(calendar_years)
                .values(
                    year=year,
                    data=calendar.to_json(),
                    revision=1,
                    updated_by="calendar_data",
                    updated_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing()
            )
        await ctx.outbox.add(session, await _published(session))


async def _published(session: AsyncSession) -> ev.CalendarPublished:
    rows = await session.execute(
        select(calendar_years.c.year, calendar_years.c.revision, calendar_years.c.data)
        .order_by(calendar_years.c.year)
    )  # fmt: skip
    return ev.CalendarPublished(
        years=[
            ev.CalendarYear(year=year, revision=revision, entries=data["entries"])
            for year, revision, data in rows
        ]
    )


async def _years(session: AsyncSession) -> dict[int, YearCalendar]:
    rows = await session.execute(select(calendar_years.c.year, calendar_years.c.data))
    return {year: YearCalendar.from_json(data) for year, data in rows}


def _hours(office_hours: Any) -> OfficeHours:
    if not office_hours:
        return OfficeHours()
    return OfficeHours(
        periods=tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in office_hours)
    )


async def _lineage(session: AsyncSession, agency_code: str) -> list[Any]:
    """The agency and its ancestors, nearest first."""
    tree = (
        select(agencies.c.code, agencies.c.parent_code, agencies.c.office_hours)
        .where(agencies.c.code == agency_code)
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(
        select(agencies.c.code, agencies.c.parent_code, agencies.c.office_hours).where(
            agencies.c.code == tree.c.parent_code
        )
    )
    return list((await session.execute(select(tree))).mappings())


async def engine_for(session: AsyncSession, agency_code: str) -> DeadlineEngine:
    """The deadline engine of an agency: the calendars in force (with the entries made for
    it or a parent unit) and its office hours (else the nearest parent's, else default)."""
    lineage = await _lineage(session, agency_code)
    codes = {agency_code} | {a["code"] for a in lineage}
    office_hours = next((a["office_hours"] for a in lineage if a["office_hours"]), None)
    return DeadlineEngine(Calendar(await _years(session), codes), _hours(office_hours))


def cutoff(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


async def get_year(ctx: Context, year: int) -> dict[str, Any]:
    """One year's calendar as stored, with its revision."""
    async with ctx.db.transaction() as session:
        row = (
            (await session.execute(select(calendar_years).where(calendar_years.c.year == year)))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(
            f"Chưa có lịch làm việc năm {year}: hãy nhập theo thông báo chính thức.",
        )
    return {
        **row["data"],
        "revision": row["revision"],
        "updated_by": row["updated_by"],
        "updated_at": row["updated_at"],
    }


async def put_year(
    ctx: Context, year: int, data: dict[str, Any], officer: str, *, confirm: bool = False
) -> dict[str, Any]:
    """Replace a year's calendar, after checking it; audited."""
    try:
        calendar = YearCalendar.from_json({**data, "year": year})
    except (KeyError, TypeError, ValueError) as exc:
        raise Invalid(f"Lịch không đúng định dạng: {exc}") from None
    problems = calendar.validate()
    if problems:
        raise Invalid(
            "Lịch làm việc có mục không hợp lệ.",
            errors=[{"field": "entries", "message": m} for m in problems],
        )
    missing = missing_statutory_holidays(calendar)
    if missing:
        raise Invalid(" ".join(missing), errors=[field_error("entries", m) for m in missing])
    now = datetime.now(UTC)
    async with ctx.db.transaction() as session:
        stored = (
            await session.execute(
                select(calendar_years.c.data).where(calendar_years.c.year == year).with_for_update()
            )
        ).scalar()
        old = YearCalendar.from_json(stored) if stored is not None else None
        review = review_edit(old, calendar, today=now.astimezone(VIETNAM).date(),
                             announced=await _announced_days(session, year))  # fmt: skip
        if review.needs_confirmation and not confirm:
            raise Conflict(
                review.reason(), errors=[field_error("confirm", review.reason())],
                past_days=[d.isoformat() for d in review.past],
                announced_days=[d.isoformat() for d in review.announced],
            )  # fmt: skip
        statement = insert(calendar_years).values(
            year=year,
            data=calendar.to_json(),
            revision=1,
            updated_by=officer,
            updated_at=now,
        )
        revision = await session.scalar(
            statement.on_conflict_do_update(
                index_elements=[calendar_years.c.year],
                set_={
                    "data": statement.excluded.data,
                    "revision": calendar_years.c.revision + 1,
                    "updated_by": statement.excluded.updated_by,
                    "updated_at": statement.excluded.updated_at,
                },
            ).returning(calendar_years.c.revision)
        )
        await session.execute(
            insert(calendar_edits).values(
                year=year, revision=revision, officer=officer, at=now, source=calendar.source,
                confirmed=review.needs_confirmation, changes=describe_changes(old, calendar),
                past_days=[d.isoformat() for d in review.past],
                announced_days=[d.isoformat() for d in review.announced],
            )
        )  # fmt: skip
        affected = await _announced_on_days_off(session, year)
        await ctx.outbox.add(session, await _published(session))
    answer = await get_year(ctx, year)
    answer["announced_due_dates_on_days_off"] = affected
    answer["changed_days"] = list(review.changed)
    return answer


async def year_edits(ctx: Context, year: int) -> dict[str, Any]:
    """The audit of a year's edits, newest first."""
    async with ctx.db.transaction() as session:
        rows = await session.execute(
            select(calendar_edits).where(calendar_edits.c.year == year)
            .order_by(calendar_edits.c.id.desc())
        )  # fmt: skip
        return {"year": year, "items": [dict(row) for row in rows.mappings()]}


async def _announced_days(session: AsyncSession, year: int) -> set[date]:
    """The days of the year on which open dossiers' announced due dates fall."""
    start = datetime(year, 1, 1, tzinfo=VIETNAM)
    end = datetime(year + 1, 1, 1, tzinfo=VIETNAM)
    rows = await session.execute(
        select(cases.c.due_at).where(
            cases.c.status.in_([s.value for s in OPEN]), cases.c.due_at >= start,
            cases.c.due_at < end,
        )
    )  # fmt: skip
    return {due_at.astimezone(VIETNAM).date() for (due_at,) in rows}


async def _announced_on_days_off(session: AsyncSession, year: int) -> int:
    """Open dossiers of the year whose announced due date the new calendar makes a day off."""
    start = datetime(year, 1, 1, tzinfo=VIETNAM)
    end = datetime(year + 1, 1, 1, tzinfo=VIETNAM)
    rows = await session.execute(
        select(cases.c.agency_code, cases.c.due_at).where(
            cases.c.status.in_([s.value for s in OPEN]),
            cases.c.due_at >= start,
            cases.c.due_at < end,
        )
    )
    years = await _years(session)
    count = 0
    for agency_code, due_at in rows:
        codes = {a["code"] for a in await _lineage(session, agency_code)} | {agency_code}
        if not Calendar(years, codes).is_working_day(due_at.astimezone(VIETNAM).date()):
            count += 1
    return count


async def preview(
    ctx: Context, agency_code: str, procedure_code: str, received_at: datetime
) -> dict[str, Any] | None:
    """The appointment of a dossier received at `received_at`, from the same engine."""
    async with ctx.db.transaction() as session:
        procedure = (
            (await session.execute(select(procedures).where(procedures.c.code == procedure_code)))
            .mappings()
            .first()
        )
        known = await session.scalar(select(agencies.c.code).where(agencies.c.code == agency_code))
        if procedure is None or known is None:
            return None
        engine = await engine_for(session, agency_code)
    limit = cutoff(procedure["cutoff_time"])
    return {
        "agency_code": agency_code,
        "procedure_code": procedure_code,
        "processing_days": procedure["processing_days"],
        "received_at": received_at,
        "counted_from": engine.counted_from(received_at, limit),
        "due_at": engine.due_at(received_at, procedure["processing_days"], limit),
    }


async def get_office_hours(ctx: Context, admin_agency: str, code: str) -> dict[str, Any]:
    """An agency's office hours: its own, else the nearest parent's, else the default."""
    async with ctx.db.transaction() as session:
        lineage = await _in_scope(session, admin_agency, code)
    own = lineage[0]["office_hours"]
    inherited = next((a for a in lineage if a["office_hours"]), None)
    hours = _hours(inherited["office_hours"] if inherited else None)
    return {
        "agency_code": code,
        "periods": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in hours.periods],
        "own": own is not None,
        "inherited_from": inherited["code"] if inherited and not own else None,
    }


async def put_office_hours(
    ctx: Context, admin_agency: str, code: str, periods: list[list[str]] | None
) -> dict[str, Any]:
    """Set an agency's office hours (None: back to its parent's or the default).

    A working day stays 8 hours (the processing time is counted in them); due dates
    already announced do not move."""
    if periods is not None:
        try:
            length = _hours(periods).length()
        except ValueError:
            length = None
        if length != WORKING_DAY:
            raise invalid_field(
                "periods", "Giờ làm việc phải là các khoảng tăng dần, cộng lại đúng 8 giờ."
            )
    async with ctx.db.transaction() as session:
        await _in_scope(session, admin_agency, code)
        await session.execute(
            agencies.update().where(agencies.c.code == code).values(office_hours=periods)
        )
    return await get_office_hours(ctx, admin_agency, code)


async def _in_scope(session: AsyncSession, admin_agency: str, code: str) -> list[Any]:
    """The agency's lineage, if the administrator's agency is the agency or above it."""
    lineage = await _lineage(session, code)
    if not lineage or admin_agency not in {a["code"] for a in lineage}:
        raise NotFound("Không tìm thấy đơn vị này trong phạm vi quản lý của bạn.")
    return lineage
