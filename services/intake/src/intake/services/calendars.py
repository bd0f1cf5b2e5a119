"""The working-day calendars workflow keeps, as intake last received them, and the
working days left to a dossier's due date counted from them (`shared.calendar`).

Workflow publishes every year it holds (`calendar.published`) when it starts and after
each edit; each year carries its revision, and a year is replaced only by a newer
revision, so events arriving late, twice or out of order leave the newest in force.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import calendar_years
from intake.services.context import Context
from shared.calendar import working_days_left
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.events import CLOCK_RUNNING
from shared.db.rows import upsert


async def apply_calendar(
    _ctx: Context, session: AsyncSession, _envelope: Envelope, data: ev.CalendarPublished
) -> None:
    """Keep each published year unless a newer revision of it is kept already."""
    now = datetime.now(UTC)
    for year in data.years:
        row = {
            "year": year.year,
            "revision": year.revision,
            "entries": [e.model_dump(mode="json") for e in year.entries],
            "received_at": now,
        }
        await upsert(
            session, calendar_years, row,
            where=lambda new: calendar_years.c.revision < new.excluded.revision,
        )  # fmt: skip


async def days_left(ctx: Context, row: Any) -> int | None:
    """The working days left to the dossier's due date while its clock runs, else None
    (not yet received, paused for a supplement, decided)."""
    if row["status"] not in CLOCK_RUNNING or row["due_at"] is None:
        return None
    calendar = await ctx.reference.calendar(row["agency_code"])
    return working_days_left(calendar, row["due_at"], datetime.now(UTC))
