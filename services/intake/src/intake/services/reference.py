"""The catalogue's procedures and agencies by code, and workflow's working-day calendars,
kept in memory.

Every dossier request needs its procedure and agency, and they change only when a new
catalogue version is published (`catalogue.load_catalogue`, at a start of the service):
reading them from the database each time cost about a tenth of intake's CPU.

How fresh they are:
- the process that publishes a catalogue forgets everything it kept once the publication
  has committed, so it answers with the new version at once;
- any other process (another replica, the previous version still running during a rolling
  update) keeps a row at most `max_age` seconds: the first use after that reads it again.
  So a publication is seen everywhere within `max_age` (`INTAKE_CATALOGUE_CACHE_SECONDS`).

The calendars (`calendars.apply_calendar`, from workflow's `calendar.published`) are kept
the same way: read again at most `max_age` seconds after they were read.

Codes that do not exist are not kept (a request for one reads the database), so a
procedure added since is found at once, and what is kept is bounded by the catalogue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.calendar import Calendar, YearCalendar
from shared.db import Database
from shared.db.sql import Sql

_PROCEDURE = Sql("SELECT * FROM procedures WHERE code = $1")
_AGENCY = Sql("SELECT * FROM agencies WHERE code = $1")
_CALENDARS = Sql("SELECT year, entries FROM calendar_years")

Row = Mapping[str, Any]


@dataclass(frozen=True)
class _Kept:
    row: Row
    read_at: float


class ReferenceData:
    def __init__(
        self, db: Database, max_age: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._max_age = max_age
        self._clock = clock
        self._kept: dict[tuple[Sql, str], _Kept] = {}
        self._years: tuple[dict[int, YearCalendar], float] | None = None
        self._by_agency: dict[str, Calendar] = {}

    async def procedure(self, code: str) -> Row | None:
        """The procedure's row (as the `procedures` table has it), or None."""
        return await self._row(_PROCEDURE, code)

    async def agency(self, code: str) -> Row | None:
        """The agency's row (as the `agencies` table has it), or None."""
        return await self._row(_AGENCY, code)

    async def calendar(self, agency_code: str) -> Calendar:
        """The working-day calendar an agency follows: the national entries and those made
        for it or a unit above it. Before any calendar arrived, the weekends and the solar
        holidays only (`Calendar` of a year not entered)."""
        years = await self._calendars()
        kept = self._by_agency.get(agency_code)
        if kept is not None:
            return kept
        lineage: set[str] = set()
        code: str | None = agency_code
        while code and code not in lineage:
            lineage.add(code)
            agency = await self.agency(code)
            code = agency["parent_code"] if agency else None
        # Kept until the years are read again: building one costs more than counting days.
        calendar = self._by_agency[agency_code] = Calendar(years, lineage)
        return calendar

    def forget(self) -> None:
        """Drop everything kept: a catalogue was published by this process."""
        self._kept.clear()
        self._years = None
        self._by_agency.clear()

    async def _calendars(self) -> dict[int, YearCalendar]:
        now = self._clock()
        if self._years is not None and now - self._years[1] < self._max_age:
            return self._years[0]
        async with self._db.statement() as connection:
            records = await _CALENDARS.fetch(connection)
        years = {
            r["year"]: YearCalendar.from_json({"year": r["year"], "entries": r["entries"]})
            for r in records
        }
        self._years = (years, now)
        self._by_agency.clear()
        return years

    async def _row(self, query: Sql, code: str) -> Row | None:
        now = self._clock()
        kept = self._kept.get((query, code))
        if kept is not None and now - kept.read_at < self._max_age:
            return kept.row
        async with self._db.statement() as connection:
            record = await query.fetchrow(connection, code)
        if record is None:
            self._kept.pop((query, code), None)
            return None
        row = dict(record)
        self._kept[(query, code)] = _Kept(row, now)
        return row
