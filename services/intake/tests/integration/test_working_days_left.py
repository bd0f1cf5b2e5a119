"""The working days left to the due date, in the owner's and the public view, counted from
the calendars workflow publishes (`calendar.published`): a newer revision of a year
replaces the kept one, an older one arriving late changes nothing, and no count is given
while the clock does not run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from intake.adapters.tables import calendar_years
from services.intake.tests.integration.support import Citizen
from services.intake.tests.integration.test_after_submission import facts, publish, submitted, view
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.events import VIETNAM
from shared.messaging.tables import inbox
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration


def calendar(revision: int, days_off: dict[date, str | None]) -> Envelope:
    """This year and the next, with `days_off` (day: the agency it is for, or None)."""
    this_year = datetime.now(VIETNAM).year
    years: dict[int, list[ev.CalendarDay]] = {this_year: [], this_year + 1: []}
    for day, agency in days_off.items():
        years[day.year].append(
            ev.CalendarDay(day=day, kind="holiday", name="Nghỉ", agency_code=agency)
        )
    return Envelope.wrap(
        ev.CalendarPublished(years=[ev.CalendarYear(year=y, revision=revision, entries=e)
                                    for y, e in years.items()]),
        source="workflow",
    )  # fmt: skip


def applied(service: ServiceUnderTest, envelope: Envelope) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        async with service.runtime.db.transaction() as session:
            found = await session.scalar(
                select(inbox.c.event_id).where(inbox.c.event_id == envelope.id)
            )
        return found is not None

    return probe


async def days_left(service: ServiceUnderTest, citizen: Citizen, code: str) -> tuple[Any, Any]:
    owner = (await view(service, citizen, code))["working_days_left"]
    async with service.client() as client:
        public = (await client.get(f"/api/v1/tracking/{code}")).json()["working_days_left"]
    return owner, public


async def test_the_days_left_follow_the_calendar_in_force(intake: ServiceUnderTest) -> None:
    citizen, dossier = await submitted(intake)
    code, agency = dossier["code"], dossier["code"].split("-")[0]
    now = datetime.now(UTC)
    today = now.astimezone(VIETNAM).date()
    due_day = today + timedelta(days=21)
    due = datetime.combine(due_day, datetime.min.time(), VIETNAM) + timedelta(hours=17)

    # Not received yet: no clock runs.
    assert await days_left(intake, citizen, code) == (None, None)
    # The years in force, without a day off (before any, the solar holidays would count).
    first = calendar(1, {})
    await publish(intake, [first])
    await eventually(applied(intake, first), timeout=30, what="the first calendar applied")
    received = ev.DossierReceived(**facts("received"), received_at=now, due_at=due,
                                  channel="online", counted_from=now, rule_set="118/2025")  # fmt: skip
    await publish(
        intake, [Envelope.wrap(received, source="workflow", dossier_code=code, sequence=1)]
    )

    async def counted() -> tuple[Any, Any] | None:
        answer = await days_left(intake, citizen, code)
        return answer if answer[0] is not None else None

    before, public = await eventually(counted, timeout=30, what="the days left")
    assert isinstance(before, int)
    assert before > 0
    assert public == before

    # Three weekdays before the due day become days off: two national ones and one of the
    # dossier's agency; a day off of another agency does not count.
    weekdays = [d for d in (today + timedelta(days=n) for n in range(1, 21)) if d.weekday() < 5]
    newer = calendar(7, {weekdays[0]: None, weekdays[1]: None, weekdays[2]: agency,
                         weekdays[3]: "G99.999.000.000"})  # fmt: skip
    await publish(intake, [newer])

    async def moved() -> tuple[Any, Any] | None:
        answer = await days_left(intake, citizen, code)
        return answer if before not in answer else None

    assert await eventually(moved, timeout=30, what="the new calendar") == (before - 3, before - 3)

    # An older revision arriving late is applied (recorded) and changes nothing.
    older = calendar(6, {})
    await publish(intake, [older])

    await eventually(applied(intake, older), timeout=30, what="the older calendar applied")
    async with intake.runtime.db.transaction() as session:
        kept = set(await session.scalars(select(calendar_years.c.revision)))
    assert kept == {7}
    assert await days_left(intake, citizen, code) == (before - 3, before - 3)

    # A supplement request pauses the clock: no count while the agency waits.
    paused = ev.DossierSupplementRequested(
        **facts("supplement_requested"), received_at=now, due_at=due,
        items=[ev.SupplementItem(description="Tờ khai thiếu chữ ký")], requested_at=now,
    )  # fmt: skip
    await publish(intake, [Envelope.wrap(paused, source="workflow", dossier_code=code, sequence=2)])

    async def stopped() -> bool:
        return await days_left(intake, citizen, code) == (None, None)

    await eventually(stopped, timeout=30, what="no count while paused")
