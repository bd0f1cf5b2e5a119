"""Events into the projections, inside the inbox transaction.

Each dossier event is merged into the dossier's facts with rules that do not depend on
order (domain.facts). The dossier's counters are then recomputed from its facts
(domain.counting) and only the difference is written. Every event is also archived
(redacted) so the projections can be rebuilt.

Dossier events come in runs (the consumer's `Batched`: the consecutive ones of a
batch, of any dossiers): a run's events are merged per dossier in memory, in their
order, as the rebuild merges them (`fold`), and each table is written once per run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Column
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import Envelope
from shared.contracts import events as ev
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


# The statements of a run of dossier events, written once with their values as
# parameters (shared/db/sql.py): a run costs three statements (record, read, save),
# however many events and dossiers it brings. Each takes its rows as arrays (unnest).

# The events archived, the names they carry learned and their dossiers' facts rows made
# sure of, in one statement (each data-modifying WITH runs whether or not it is read).
# Parameters: the archive's five arrays (`archived`), agencies' codes and names,
# procedures' codes, names and fields, then the facts' codes, agency and procedure codes.
_ARCHIVE_VALUES = (
    "INSERT INTO archive (event_id, type, occurred_at, envelope, applicant_name)"
    " VALUES ($1, $2, $3, CAST(CAST($4 AS text) AS jsonb), $5) ON CONFLICT DO NOTHING"
)
_RECORD = Sql(
    "WITH archived AS (INSERT INTO archive (event_id, type, occurred_at, envelope,"
    " applicant_name) SELECT i, t, o, CAST(e AS jsonb), n FROM unnest(CAST($1 AS uuid[]),"
    " CAST($2 AS text[]), CAST($3 AS timestamptz[]), CAST($4 AS text[]),"
    " CAST($5 AS text[])) AS a(i, t, o, e, n) ON CONFLICT DO NOTHING),"
    " agency AS (INSERT INTO agencies (code, name) SELECT * FROM unnest(CAST($6 AS text[]),"
    " CAST($7 AS text[])) ON CONFLICT DO NOTHING),"
    " procedure AS (INSERT INTO procedures (code, name, field) SELECT * FROM"
    " unnest(CAST($8 AS text[]), CAST($9 AS text[]), CAST($10 AS text[]))"
    " ON CONFLICT DO NOTHING)"
    " INSERT INTO facts (code, agency_code, procedure_code) SELECT * FROM"
    " unnest(CAST($11 AS text[]), CAST($12 AS text[]), CAST($13 AS text[]))"
    " ON CONFLICT DO NOTHING"
)
ARCHIVE = Sql(_ARCHIVE_VALUES)

# The facts rows, locked in order of code (as every run locks them: no deadlock between
# two), with their pauses (as arrays, in order of round).
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
    + " FROM facts f WHERE f.code = ANY(CAST($1 AS text[])) ORDER BY f.code FOR UPDATE OF f"
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


def _sql_type(column: Column[Any]) -> str:
    """The column's type as an array element is cast to (JSON goes as its text)."""
    return "text" if isinstance(column.type, JSONB) else column.type.compile(postgresql.dialect())


def _value(column: Column[Any]) -> str:
    """The column's new value in the unnest's row `v`."""
    value = f"v.{column.name}"
    return f"CAST({value} AS jsonb)" if isinstance(column.type, JSONB) else value


# The rounds, facts rows and counters a run changed, in one statement: each pause's ends
# set once (the facts rows' locks are held: no one else writes them), each facts row as
# merged, the counter changes added. Parameters: the pauses' four arrays (code, round,
# requested_at, resumed_at), the facts' arrays (code, then the columns of _KEPT in
# order), then the six counter arrays.
_KEPT = [c for c in facts.columns if c.name != "code"]
_FIRST_COUNT = 4 + 1 + len(_KEPT) + 1
_SAVE = Sql(
    "WITH paused AS (INSERT INTO pauses (code, round, requested_at, resumed_at)"  # noqa: S608
    " SELECT * FROM unnest(CAST($1 AS text[]), CAST($2 AS smallint[]),"
    " CAST($3 AS timestamptz[]), CAST($4 AS timestamptz[]))"
    " ON CONFLICT (code, round) DO UPDATE SET"
    " requested_at = coalesce(pauses.requested_at, excluded.requested_at),"
    " resumed_at = coalesce(pauses.resumed_at, excluded.resumed_at)),"
    " saved AS (UPDATE facts f SET "
    + ", ".join(f"{c.name} = {_value(c)}" for c in _KEPT)
    + " FROM unnest(CAST($5 AS text[]), "
    + ", ".join(f"CAST(${n} AS {_sql_type(c)}[])" for n, c in enumerate(_KEPT, start=6))
    + ") AS v(code, "
    + ", ".join(c.name for c in _KEPT)
    + ") WHERE f.code = v.code) "
    + _add_counts(_FIRST_COUNT)
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
    """The pause's ends into the dossier's rounds, each set once (as `_SAVE` does)."""
    entry = rounds.setdefault(
        pause.round, {"round": pause.round, "requested_at": None, "resumed_at": None}
    )
    for name, value in pause.values.items():
        if entry[name] is None:
            entry[name] = value


def fold(
    row: dict[str, Any],
    rounds: dict[int, dict[str, Any]],
    events: Iterable[tuple[Envelope, ev.DossierEvent]],
) -> list[Counter]:
    """A dossier's events merged into its facts row and pause rounds, in place, one
    after the other in their order; returns the counters the dossier now contributes."""
    for envelope, data in events:
        pause = merge(row, data, envelope.sequence or 0)
        if pause is not None:
            merge_pause(rounds, pause)
    return contribution(facts_of(row, [rounds[r] for r in sorted(rounds)]))


async def apply_dossier_events(
    _ctx: Context, session: AsyncSession, events: Sequence[tuple[Envelope, ev.DossierEvent]]
) -> None:
    """A run of dossier events (of any types and dossiers, in delivery order) merged
    into their dossiers' facts, and the counters moved to match: the same rows as the
    events applied one after the other, since each dossier's events are merged in their
    order and its counters moved by the difference between its contribution before and
    after them all."""
    LAG.set(max((datetime.now(UTC) - events[-1][0].occurred_at).total_seconds(), 0))
    by_dossier: dict[str, list[tuple[Envelope, ev.DossierEvent]]] = {}
    agency_names: dict[str, str] = {}
    procedure_names: dict[str, tuple[str, str]] = {}
    for envelope, data in events:
        by_dossier.setdefault(envelope.dossier_code or "", []).append((envelope, data))
        # The first to name one wins, as the first of one-by-one inserts would.
        agency_names.setdefault(data.agency_code, data.agency_name)
        procedure_names.setdefault(data.procedure_code, (data.procedure_name, data.field))
    # Sorted, so concurrent runs insert and lock rows in the same order.
    codes = sorted(by_dossier)
    agencies_ = sorted(agency_names.items())
    procedures_ = sorted((code, *named) for code, named in procedure_names.items())
    firsts = [by_dossier[code][0][1] for code in codes]
    await _RECORD.execute(
        session,
        *_columns([archived(envelope, _applicant(data)) for envelope, data in events], 5),
        *_columns(agencies_, 2), *_columns(procedures_, 3),
        codes, [d.agency_code for d in firsts], [d.procedure_code for d in firsts],
    )  # fmt: skip
    pauses: list[tuple[Any, ...]] = []
    saved: list[tuple[Any, ...]] = []
    changes: dict[tuple[str, str, str, str, date], float] = {}
    records = await _FACTS.fetch(session, codes)
    assert len(records) == len(codes)  # made sure of by _RECORD, in this transaction
    for record in records:
        row = dict(record)
        rounds = {
            r: {"round": r, "requested_at": q, "resumed_at": e}
            for r, q, e in zip(*(row.pop(f"pauses_{c}") for c in _ROUNDS), strict=True)
        }
        code, before, paused = row["code"], dict(row), {r: dict(p) for r, p in rounds.items()}
        old: list[Counter] = [(m, date.fromisoformat(d), v) for m, d, v in row["contribution"]]
        new = fold(row, rounds, by_dossier[code])
        row["contribution"] = [[m, d.isoformat(), v] for m, d, v in new]
        pauses.extend(
            (code, r, p["requested_at"], p["resumed_at"])
            for r, p in sorted(rounds.items())
            if paused.get(r) != p
        )
        if row != before:
            kept = row | {"contribution": json.dumps(row["contribution"])}
            saved.append((code, *(kept[c.name] for c in _KEPT)))
        counted = count_rows(row["agency_code"], row["procedure_code"], delta(old, new))
        for key, value in counted.items():
            changes[key] = changes.get(key, 0) + value
    counts = _count_parameters(changes)
    if pauses or saved or counts[-1]:
        await _SAVE.execute(
            session, *_columns(pauses, 4), *_columns(saved, 1 + len(_KEPT)), *counts
        )


def _applicant(data: ev.DossierEvent) -> str | None:
    return data.applicant.full_name if isinstance(data, ev.DossierSubmitted) else None


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows as `width` arrays, one per column: the parameters of an unnest."""
    return [[row[n] for row in rows] for n in range(width)]


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
