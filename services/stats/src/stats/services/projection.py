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

from sqlalchemy import Table, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from stats.adapters.tables import agencies, facts, pauses, procedures
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


# The statements of every event, built once with their values as parameters: an event
# costs three statements (four when it moves a pause), whatever it brings.

# The event archived, the names it carries learned and its dossier's facts row made sure
# of, in one statement (each data-modifying WITH runs whether or not it is read).
_RECORD = text(
    "WITH archived AS (INSERT INTO archive (event_id, type, occurred_at, envelope, applicant_name)"
    " VALUES (:event_id, :type, :occurred_at, CAST(CAST(:envelope AS text) AS jsonb),"
    " :applicant_name) ON CONFLICT DO NOTHING),"
    " agency AS (INSERT INTO agencies (code, name) VALUES (:agency_code, :agency_name)"
    " ON CONFLICT DO NOTHING),"
    " procedure AS (INSERT INTO procedures (code, name, field)"
    " VALUES (:procedure_code, :procedure_name, :field) ON CONFLICT DO NOTHING)"
    " INSERT INTO facts (code, agency_code, procedure_code)"
    " VALUES (:code, :agency_code, :procedure_code) ON CONFLICT DO NOTHING"
)
ARCHIVE = text(
    "INSERT INTO archive (event_id, type, occurred_at, envelope, applicant_name)"
    " VALUES (:event_id, :type, :occurred_at, CAST(CAST(:envelope AS text) AS jsonb),"
    " :applicant_name) ON CONFLICT DO NOTHING"
)


def _rounds_of(column: str) -> Any:
    return func.array(
        select(pauses.c[column])
        .where(pauses.c.code == facts.c.code)
        .order_by(pauses.c.round)
        .scalar_subquery()
    ).label(f"pauses_{column}")


# The facts row, locked, with its pauses (as arrays, in order of round).
_ROUNDS = ("round", "requested_at", "resumed_at")
_FACTS = (
    select(facts, *(_rounds_of(c) for c in _ROUNDS))
    .where(facts.c.code == bindparam("code"))
    .with_for_update(of=facts)
)
# A pause's ends, each set once (the facts row's lock is held: no one else writes them).
_PAUSE = text(
    "INSERT INTO pauses (code, round, requested_at, resumed_at)"
    " VALUES (:code, :round, :requested_at, :resumed_at)"
    " ON CONFLICT (code, round) DO UPDATE SET"
    " requested_at = coalesce(pauses.requested_at, excluded.requested_at),"
    " resumed_at = coalesce(pauses.resumed_at, excluded.resumed_at)"
)
# Counter changes as arrays, one row each (unique: summed before).
_ADD_COUNTS = (
    "INSERT INTO counts (agency_code, procedure_code, metric, unit, start, value)"
    " SELECT * FROM unnest(CAST(:c_agency AS text[]), CAST(:c_procedure AS text[]),"
    " CAST(:c_metric AS text[]), CAST(:c_unit AS text[]), CAST(:c_start AS date[]),"
    " CAST(:c_value AS float8[]))"
    " ON CONFLICT (agency_code, procedure_code, metric, unit, start)"
    " DO UPDATE SET value = counts.value + excluded.value"
)
_COUNTS = text(_ADD_COUNTS)
# The facts row as merged, and the counter changes that follow, in one statement.
_KEPT = [c.name for c in facts.columns if c.name != "code"]
# (The names joined in are the table's own columns, not input.)
_SAVE = text(
    "WITH saved AS (UPDATE facts SET "  # noqa: S608
    + ", ".join(
        f"{c} = CAST(CAST(:{c} AS text) AS jsonb)" if c == "contribution" else f"{c} = :{c}"
        for c in _KEPT
    )
    + " WHERE code = :code) "
    + _ADD_COUNTS
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


def _count_parameters(summed: dict[tuple[str, str, str, str, date], float]) -> dict[str, Any]:
    # Sorted, so concurrent transactions lock the counters in the same order.
    rows = [(key, value) for key, value in sorted(summed.items()) if value]
    return {
        "c_agency": [k[0] for k, _ in rows],
        "c_procedure": [k[1] for k, _ in rows],
        "c_metric": [k[2] for k, _ in rows],
        "c_unit": [k[3] for k, _ in rows],
        "c_start": [k[4] for k, _ in rows],
        "c_value": [float(v) for _, v in rows],
    }


async def add_counts(
    session: AsyncSession, agency: str, procedure: str, changes: dict[tuple[str, date], float]
) -> None:
    """Add to the counters of the agency and procedure and of their roll-ups."""
    parameters = _count_parameters(count_rows(agency, procedure, changes))
    if parameters["c_value"]:
        await session.execute(_COUNTS, parameters)


def archived(envelope: Envelope, applicant_name: str | None) -> dict[str, Any]:
    return {
        "event_id": envelope.id, "type": envelope.type, "occurred_at": envelope.occurred_at,
        "envelope": envelope.redacted().model_dump_json(), "applicant_name": applicant_name,
    }  # fmt: skip


async def _archive(session: AsyncSession, envelope: Envelope, applicant_name: str | None) -> None:
    await session.execute(ARCHIVE, archived(envelope, applicant_name))


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
    await session.execute(
        _RECORD,
        {
            **archived(envelope, applicant), "code": code,
            "agency_code": data.agency_code, "agency_name": data.agency_name,
            "procedure_code": data.procedure_code, "procedure_name": data.procedure_name,
            "field": data.field,
        },
    )  # fmt: skip
    found = dict((await session.execute(_FACTS, {"code": code})).mappings().one())
    rounds = {
        r: {"round": r, "requested_at": q, "resumed_at": e}
        for r, q, e in zip(*(found.pop(f"pauses_{c}") for c in _ROUNDS), strict=True)
    }
    row = found
    before = dict(row)
    pause = merge(row, data, envelope.sequence or 0)
    if pause is not None:
        await session.execute(
            _PAUSE,
            {"code": code, "round": pause.round, "requested_at": None, "resumed_at": None}
            | pause.values,
        )
        merge_pause(rounds, pause)
    old: list[Counter] = [(m, date.fromisoformat(d), v) for m, d, v in row["contribution"]]
    new = contribution(facts_of(row, [rounds[r] for r in sorted(rounds)]))
    changes = delta(old, new)
    row["contribution"] = [[m, d.isoformat(), v] for m, d, v in new]
    if any(before.get(k) != v for k, v in row.items()):
        parameters = _count_parameters(
            count_rows(row["agency_code"], row["procedure_code"], changes)
        )
        await session.execute(
            _SAVE,
            {name: row[name] for name in _KEPT}
            | {"code": code, "contribution": json.dumps(row["contribution"])}
            | parameters,
        )
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
    for agency in data.agencies:
        await _replace(session, agencies, agency.model_dump())
    for procedure in data.procedures:
        values = {"code": procedure.code, "name": procedure.name, "field": procedure.field}
        await _replace(session, procedures, values)


async def _replace(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """The catalogue's row for a code, in place of what was learned before."""
    statement = insert(table).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["code"],
            set_={name: statement.excluded[name] for name in values if name != "code"},
        )
    )
