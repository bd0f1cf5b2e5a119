"""Events into the projections, inside the inbox transaction.

Each dossier event is merged into the dossier's facts with rules that do not depend on
order (domain.facts). The dossier's counters are then recomputed from its facts
(domain.counting) and only the difference is written. Every event is also archived
(redacted) so the projections can be rebuilt.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from stats.adapters.tables import agencies, archive, counts, facts, pauses, procedures
from stats.domain.counting import Counter, contribution, delta, feedback_counters, unit_start
from stats.domain.facts import facts_of, merge
from stats.services.context import Context
from stats.services.gauges import LAG

UNITS = ("d", "m", "y")
# Roll-ups: '' as the procedure is all of an agency's procedures, '' as the agency all
# agencies, so a report by agency or by procedure reads one row per group and counter.
ALL_PROCEDURES = ""
ALL_AGENCIES = ""


async def _archive(session: AsyncSession, envelope: Envelope, applicant_name: str | None) -> None:
    await session.execute(
        insert(archive)
        .values(
            event_id=envelope.id, type=envelope.type, occurred_at=envelope.occurred_at,
            envelope=envelope.redacted().model_dump(mode="json"), applicant_name=applicant_name,
        )
        .on_conflict_do_nothing()
    )  # fmt: skip


async def add_counts(
    session: AsyncSession, agency: str, procedure: str, changes: dict[tuple[str, date], float]
) -> None:
    """Add to the day, month and year counters of the agency and procedure, and of their
    roll-ups (the agency's all procedures, the procedure's all agencies)."""
    summed: dict[tuple[str, str, str, str, date], float] = {}
    groups = ((agency, procedure), (agency, ALL_PROCEDURES), (ALL_AGENCIES, procedure))
    for (metric, on), value in changes.items():
        for a, p in groups:
            for unit in UNITS:
                key = (a, p, metric, unit, unit_start(unit, on))
                summed[key] = summed.get(key, 0) + value
    rows = [
        {"agency_code": a, "procedure_code": p, "metric": metric, "unit": unit,
         "start": start, "value": value}
        for (a, p, metric, unit, start), value in sorted(summed.items())
        if value
    ]  # fmt: skip
    if not rows:
        return
    statement = insert(counts).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["agency_code", "procedure_code", "metric", "unit", "start"],
            set_={"value": counts.c.value + statement.excluded.value},
        )
    )


async def _names(session: AsyncSession, data: ev.DossierEvent) -> None:
    await session.execute(
        insert(agencies)
        .values(code=data.agency_code, name=data.agency_name)
        .on_conflict_do_nothing()
    )
    await session.execute(
        insert(procedures)
        .values(code=data.procedure_code, name=data.procedure_name, field=data.field)
        .on_conflict_do_nothing()
    )


async def apply_dossier_event(
    _ctx: Context, session: AsyncSession, envelope: Envelope, data: EventData
) -> None:
    """A dossier event merged into the dossier's facts, and its counters moved to match."""
    assert isinstance(data, ev.DossierEvent)
    LAG.set(max((datetime.now(UTC) - envelope.occurred_at).total_seconds(), 0))
    applicant = data.applicant.full_name if isinstance(data, ev.DossierSubmitted) else None
    await _archive(session, envelope, applicant)
    await _names(session, data)
    code = envelope.dossier_code or ""
    await session.execute(
        insert(facts)
        .values(code=code, agency_code=data.agency_code, procedure_code=data.procedure_code)
        .on_conflict_do_nothing()
    )
    row = dict(
        (await session.execute(select(facts).where(facts.c.code == code).with_for_update()))
        .mappings()
        .one()
    )
    before = dict(row)
    pause = merge(row, data, envelope.sequence or 0)
    if pause is not None:
        statement = insert(pauses).values(code=code, round=pause.round, **pause.values)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["code", "round"],
                set_={k: func.coalesce(pauses.c[k], statement.excluded[k]) for k in pause.values},
            )
        )
    rounds = (await session.execute(select(pauses).where(pauses.c.code == code))).mappings().all()
    old: list[Counter] = [(m, date.fromisoformat(d), v) for m, d, v in row["contribution"]]
    new = contribution(facts_of(row, rounds))
    changes = delta(old, new)
    await add_counts(session, row["agency_code"], row["procedure_code"], changes)
    row["contribution"] = [[m, d.isoformat(), v] for m, d, v in new]
    changed = {k: v for k, v in row.items() if before.get(k) != v}
    if changed:
        await session.execute(facts.update().where(facts.c.code == code).values(**changed))


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
