"""The catalogue's procedures and agencies by code, kept in memory.

Every dossier request needs its procedure and agency, and they change only when a new
catalogue version is published (`catalogue.load_catalogue`, at a start of the service):
reading them from the database each time cost about a tenth of intake's CPU.

How fresh they are:
- the process that publishes a catalogue forgets everything it kept once the publication
  has committed, so it answers with the new version at once;
- any other process (another replica, the previous version still running during a rolling
  update) keeps a row at most `max_age` seconds: the first use after that reads it again.
  So a publication is seen everywhere within `max_age` (`INTAKE_CATALOGUE_CACHE_SECONDS`).

Codes that do not exist are not kept (a request for one reads the database), so a
procedure added since is found at once, and what is kept is bounded by the catalogue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.db import Database
from shared.db.sql import Sql

_PROCEDURE = Sql("SELECT * FROM procedures WHERE code = $1")
_AGENCY = Sql("SELECT * FROM agencies WHERE code = $1")

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

    async def procedure(self, code: str) -> Row | None:
        """The procedure's row (as the `procedures` table has it), or None."""
        return await self._row(_PROCEDURE, code)

    async def agency(self, code: str) -> Row | None:
        """The agency's row (as the `agencies` table has it), or None."""
        return await self._row(_AGENCY, code)

    def forget(self) -> None:
        """Drop everything kept: a catalogue was published by this process."""
        self._kept.clear()

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
