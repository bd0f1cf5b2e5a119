"""Events into the projections, inside the inbox transaction.

Each dossier event is merged into the dossier's facts with rules that do not depend on
order (domain.facts). The dossier's counters are then recomputed from its facts
(domain.counting) and only the difference is written. Every event is also archived
(redacted) so the projections can be rebuilt.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.db.rows import upsert
from shared.db.sql import Sql
from stats.adapters.tables import agencies, facts, procedures
from stats.domain.counting import Counter, contribution, delta, feedback_counters, unit_start
from stats.domain.facts import PauseChange, facts_of, merge
from stats.services.context import Context
from stats.services.gauges import LAG

UNITS = ("d", "m", "y")
# Held shared by every stats consumer, exclusively by a rebuild (shared/db/maintenance.py).
MAINTENANCE_LOCK = "stats.projections"
# Roll-ups: '' as the procedure is all of an agency's procedures, '' as the agency all
# agencies, so a report by agency or by procedure reads one row per group and counter.
ALL_PROCEDURES = ""
ALL_AGENCIES = ""


# The statements of every event, written once with their values as parameters
# (shared/db/sql.py): an event costs three statements (four when it moves a pause),
# whatever it brings.

# The event archived, the names it carries learned and its dossier's facts row made sure
# of, in one statement (each data-modifying WITH runs whether or not it is read).
# Parameters: the archive's five (`archived`), then code, agency code and name,
# procedure code, name and field.
_ARCHIVE_VALUES = (
    "INSERT INTO archive (event_id, type, occurred_at, envelope, applicant_name)"
    " VALUES ($1, $2, $3, CAST(CAST($4 AS text) AS jsonb), $5) ON CONFLICT DO NOTHING"
)
# (Only statements of this module and placeholders are joined into these: no input.)
_RECORD = Sql(
    f"WITH archived AS ({_ARCHIVE_VALUES}),"  # noqa: S608
    " agency AS (INSERT INTO agencies (code, name) VALUES ($7, $8) ON CONFLICT DO NOTHING),"
    " procedure AS (INSERT INTO procedures (code, name, field)"
    " VALUES ($9, $10, $11) ON CONFLICT DO NOTHING)"
    " INSERT INTO facts (code, agency_code, procedure_code)"
    " VALUES ($6, $7, $9) ON CONFLICT DO NOTHING"
)
ARCHIVE = Sql(_ARCHIVE_VALUES)

# The facts row, locked, with its pauses (as arrays, in order of round).
_ROUNDS = ("round", "requested_at", "resumed_at")
# (The names joined in are the tables' own columns, not input.)
_PAUSES = (
    f", array(SELECT p.{c} FROM pauses p WHERE p.code = f.code ORDER BY p.round) AS pauses_{c}"  # noqa: S608
    for c in _ROUNDS
)
_FACTS = Sql(
    "SELECT "  # noqa: S608
    + ", ".join(f"f.{c.name}" for c in facts.columns)
    + "".join(_PAUSES)
    + " FROM facts f WHERE f.code = $1 FOR UPDATE OF f"
)
# A pause's ends, each set once (the facts row's lock is held: no one else writes them).
# Parameters: code, round, requested_at, resumed_at.
_PAUSE = Sql(
    "INSERT INTO pauses (code, round, requested_at, resumed_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (code, round) DO UPDATE SET"
    " requested_at = coalesce(pauses.requested_at, excluded.requested_at),"
    " resumed_at = coalesce(pauses.resumed_at, excluded.resumed_at)"
)


def _add_counts(first: int) -> str:
    """Counter changes as six arrays from parameter `first` on (`_count_parameters`),
    one row each (unique: summed before)."""
    a, p, m, u, s, v = (f"${first + n}" for n in range(6))
    return (
        "INSERT INTO counts (agency_code, procedure_code, metric, unit, start, value)"  # noqa: S608
        f" SELECT * FROM unnest(CAST({a} AS text[]), CAST({p} AS text[]),"
        f" CAST({m} AS text[]), CAST({u} AS text[]), CAST({s} AS date[]),"
        f" CAST({v} AS float8[]))"
        " ON CONFLICT (agency_code, procedure_code, metric, unit, start)"
        " DO UPDATE SET value = counts.value + excluded.value"
    )


_COUNTS = Sql(_add_counts(1))
# The facts row as merged, and the counter changes that follow, in one statement.
# Parameters: the code, the columns of _KEPT in order, then the six counter arrays.
_KEPT = [c.name for c in facts.columns if c.name != "code"]
_SAVE = Sql(
    "WITH saved AS (UPDATE facts SET "  # noqa: S608
    + ", ".join(
        f"{c} = CAST(CAST(${n} AS text) AS jsonb)" if c == "contribution" else f"{c} = ${n}"
        for n, c in enumerate(_KEPT, start=2)
    )
    + " WHERE code = $1) "
    + _add_counts(len(_KEPT) + 2)
)


def count_rows(
    agency: str, procedure: str, changes: dict[tuple[str, date], float]
) -> dict[tuple[str, str, str, str, date], float]:
    """Changes to the day, month and year counters of the agency and procedure, and of
    their roll-ups (the agency's all procedures, the procedure's all agencies), summed."""
    summed: dict[tuple[str, str, str, str, date], float] = {}
    groups = ((agency, procedure), (agency, ALL_PROCEDURES), (ALL_AGENCIES, procedure))
    for (metric, on), value in changes.items():
        for a, p in groups:
            for unit in UNITS:
                key = (a, p, metric, unit, unit_start(unit, on))
                summed[key] = summed.get(key, 0) + value
    return summed


def _count_parameters(summed: dict[tuple[str, str, str, str, date], float]) -> list[list[Any]]:
    """The six arrays of `_add_counts`: agency, procedure, metric, unit, start, value."""
    # Sorted, so concurrent transactions lock the counters in the same order.
    rows = [(key, value) for key, value in sorted(summed.items()) if value]
    return [
        *([k[n] for k, _ in rows] for n in range(5)),
        [float(v) for _, v in rows],
    ]


async def add_counts(
    session: AsyncSession, agency: str, procedure: str, changes: dict[tuple[str, date], float]
) -> None:
    """Add to the counters of the agency and procedure and of their roll-ups."""
    parameters = _count_parameters(count_rows(agency, procedure, changes))
    if parameters[-1]:
        await _COUNTS.execute(session, *parameters)


def archived(envelope: Envelope, applicant_name: str | None) -> tuple[Any, ...]:
    """The parameters of `ARCHIVE`: the event as archived (redacted)."""
    return (
        envelope.id, envelope.type, envelope.occurred_at,
        envelope.redacted().model_dump_json(), applicant_name,
    )  # fmt: skip


async def _archive(session: AsyncSession, envelope: Envelope, applicant_name: str | None) -> None:
    await ARCHIVE.execute(session, *archived(envelope, applicant_name))


def merge_pause(rounds: dict[int, dict[str, Any]], pause: PauseChange) -> None:
    """The pause's ends into the dossier's rounds, each set once (as `_PAUSE` does)."""
    entry = rounds.setdefault(
        pause.round, {"round": pause.round, "requested_at": None, "resumed_at": None}
    )
    for name, value in pause.values.items():
        if entry[name] is None:
            entry[name] = value


async def apply_dossier_event(
    _ctx: Context, session: AsyncSession, envelope: Envelope, data: EventData
) -> None:
    """A dossier event merged into the dossier's facts, and its counters moved to match."""
    assert isinstance(data, ev.DossierEvent)
    LAG.set(max((datetime.now(UTC) - envelope.occurred_at).total_seconds(), 0))
    applicant = data.applicant.full_name if isinstance(data, ev.DossierSubmitted) else None
    code = envelope.dossier_code or ""
    await _RECORD.execute(
        session, *archived(envelope, applicant), code, data.agency_code, data.agency_name,
        data.procedure_code, data.procedure_name, data.field,
    )  # fmt: skip
    record = await _FACTS.fetchrow(session, code)
    assert record is not None  # made sure of by _RECORD, in this transaction
    found = dict(record)
    rounds = {
        r: {"round": r, "requested_at": q, "resumed_at": e}
        for r, q, e in zip(*(found.pop(f"pauses_{c}") for c in _ROUNDS), strict=True)
    }
    row = found
    before = dict(row)
    pause = merge(row, data, envelope.sequence or 0)
    if pause is not None:
        ends = {"requested_at": None, "resumed_at": None} | pause.values
        await _PAUSE.execute(session, code, pause.round, ends["requested_at"], ends["resumed_at"])
        merge_pause(rounds, pause)
    old: list[Counter] = [(m, date.fromisoformat(d), v) for m, d, v in row["contribution"]]
    new = contribution(facts_of(row, [rounds[r] for r in sorted(rounds)]))
    changes = delta(old, new)
    row["contribution"] = [[m, d.isoformat(), v] for m, d, v in new]
    if any(before.get(k) != v for k, v in row.items()):
        parameters = _count_parameters(
            count_rows(row["agency_code"], row["procedure_code"], changes)
        )
        kept = row | {"contribution": json.dumps(row["contribution"])}
        await _SAVE.execute(session, code, *(kept[name] for name in _KEPT), *parameters)
    elif changes:
        await add_counts(session, row["agency_code"], row["procedure_code"], changes)


async def apply_feedback(
    _ctx: Context, session: AsyncSession, envelope: Envelope, data: ev.FeedbackSubmitted
) -> None:
    """A citizen's rating counted for the satisfaction indicator."""
    await _archive(session, envelope, None)
    await add_counts(session, data.agency_code, data.procedure_code, feedback_counters(data))


async def apply_catalogue(
    _ctx: Context, session: AsyncSession, envelope: Envelope, data: ev.CataloguePublished
) -> None:
    """The agencies (with their parents) and procedures the reports name and group by."""
    await _archive(session, envelope, None)
    # Only stats' own columns: a field the event gains must not fail the whole catalogue.
    for agency in data.agencies:
        await upsert(session, agencies, agency.model_dump())
    for procedure in data.procedures:
        values = {"code": procedure.code, "name": procedure.name, "field": procedure.field}
        await upsert(session, procedures, values)
