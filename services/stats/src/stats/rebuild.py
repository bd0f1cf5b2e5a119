"""Rebuild the projections from scratch by replaying the event archive.

    python -m stats.rebuild                  # replay stats's own archive table
    python -m stats.rebuild --archive F.jsonl  # add envelopes from a file, then replay

The projections (facts, pauses, counts) are emptied and every archived event is merged
again with the rules the consumer applies (domain.facts, domain.counting), so the result
is the report the live service gives. The archive is streamed dossier by dossier (never
held in memory): each dossier's events are merged in memory, its facts and pauses written
in bulk (COPY) a few thousand dossiers at a time, and the counters, summed in memory,
written at the end. The archive itself is kept; events from a file are added to it first
(an event it already has is not added twice).

It refuses to start (exit code 2) while a stats consumer runs: consumers hold the
projections' maintenance lock shared, the rebuild takes it exclusively; a consumer that
starts meanwhile waits for the rebuild to end. Progress (events done, rate, time left) is
printed to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy import func, select, text

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import registry
from shared.db.maintenance import MaintenanceLock
from shared.runtime import Runtime, apply_one
from stats.adapters.tables import archive, facts
from stats.bootstrap import build
from stats.consumers import HANDLERS
from stats.domain.counting import delta, feedback_counters
from stats.services import projection
from stats.services.context import Context

_BY_TYPE = {model.event_type: handler for model, handler in HANDLERS.items()}
CHUNK = 5000  # dossiers written per transaction; rows read per round trip
PROGRESS_SECONDS = 2.0


class ConsumersRunning(RuntimeError):
    """A stats consumer holds the projections: the rebuild must not start."""


def _placeholder(annotation: Any) -> Any:
    """A valid stand-in for a value the archive left out (a redacted field)."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            name: _placeholder(info.annotation)
            for name, info in annotation.model_fields.items()
            if info.is_required()
        }
    simple = {str: "", int: 0, float: 0.0, bool: False, dict: {}, list: []}
    return simple.get(get_origin(annotation) or annotation)


def _restore(envelope: Envelope, applicant_name: str | None) -> Envelope:
    """An archived (redacted) envelope made valid again: the personal fields it left out
    are put back as empty stand-ins, except the applicant's name, kept for the public list."""
    model = registry[envelope.key]
    data = dict(envelope.data)
    for name in model.sensitive_fields() - set(data):
        info = model.model_fields[name]
        if info.is_required():
            data[name] = _placeholder(info.annotation)
    if issubclass(model, ev.DossierSubmitted) and applicant_name is not None:
        data["applicant"] = {**data["applicant"], "full_name": applicant_name}
    return envelope.model_copy(update={"data": data})


def _wanted(envelope: Envelope) -> bool:
    return envelope.type in _BY_TYPE and envelope.key in registry


async def apply(ctx: Context, envelopes: Iterable[tuple[Envelope, str | None]]) -> int:
    """The events through the consumer's own handlers, one transaction each (as live
    deliveries are applied, without the inbox); returns how many were applied."""
    applied = 0
    seen: set[Any] = set()
    for envelope, name in envelopes:
        # An archive may hold an event twice (exported twice, merged files): apply it once,
        # as the inbox does for live deliveries.
        if not _wanted(envelope) or envelope.id in seen:
            continue
        seen.add(envelope.id)
        restored = _restore(envelope, name)
        async with ctx.db.transaction() as session:
            await apply_one(_BY_TYPE[envelope.type], ctx, session, restored, restored.payload())
        applied += 1
    return applied


# What a facts row holds before any event (the table's server defaults).
def _blank(code: str, agency_code: str, procedure_code: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys((c.name for c in facts.columns), None)
    row.update(
        code=code, agency_code=agency_code, procedure_code=procedure_code, online=True,
        due_sequence=0, e_result=False, digitised=False, fee_vnd=0, fee_timing="on_result",
        paid_online=False, national_queued=0, national_synced=0, contribution=[],
    )  # fmt: skip
    return row


class Progress:
    """Events done, rate and time left, printed every few seconds."""

    def __init__(self, total: int, out: Callable[[str], None]) -> None:
        self.total, self.out = total, out
        self.done = 0
        self.started = self.shown = time.monotonic()

    def step(self, n: int = 1, *, final: bool = False) -> None:
        self.done += n
        now = time.monotonic()
        if not final and now - self.shown < PROGRESS_SECONDS:
            return
        self.shown = now
        rate = self.done / max(now - self.started, 1e-9)
        left = max(self.total - self.done, 0) / rate if rate else 0.0
        self.out(f"{self.done}/{self.total} events, {rate:.0f}/s, about {left:.0f} s left")


class _Writer:
    """The rebuilt projections, written in bulk: facts and pauses by chunks of dossiers,
    the counters (summed in memory) and the names at the end."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.facts: list[tuple[Any, ...]] = []
        self.pauses: list[tuple[Any, ...]] = []
        self.counts: dict[tuple[str, str, str, str, date], float] = {}
        self.agencies: dict[str, str] = {}
        self.procedures: dict[str, tuple[str, str]] = {}
        self.catalogues: list[Envelope] = []
        self._columns = [c.name for c in facts.columns]

    def count(self, agency: str, procedure: str, changes: dict[tuple[str, date], float]) -> None:
        for key, value in projection.count_rows(agency, procedure, changes).items():
            self.counts[key] = self.counts.get(key, 0) + value

    def dossier(self, events: list[tuple[Envelope, ev.DossierEvent]]) -> None:
        """A dossier's events merged as the consumer merges them, one after the other."""
        first = events[0][1]
        code = events[0][0].dossier_code or ""
        row = _blank(code, first.agency_code, first.procedure_code)
        for _, data in events:
            self.agencies.setdefault(data.agency_code, data.agency_name)
            self.procedures.setdefault(data.procedure_code, (data.procedure_name, data.field))
        rounds: dict[int, dict[str, Any]] = {}
        new = projection.fold(row, rounds, events)
        ordered = [rounds[r] for r in sorted(rounds)]
        self.count(row["agency_code"], row["procedure_code"], delta([], new))
        row["contribution"] = json.dumps([[m, d.isoformat(), v] for m, d, v in new])
        self.facts.append(tuple(row[c] for c in self._columns))
        self.pauses.extend((code, p["round"], p["requested_at"], p["resumed_at"]) for p in ordered)

    async def flush(self) -> None:
        if not self.facts:
            return
        async with self.ctx.db.engine.begin() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.copy_records_to_table("facts", records=self.facts, columns=self._columns)
            if self.pauses:
                await raw.copy_records_to_table(
                    "pauses", records=self.pauses,
                    columns=["code", "round", "requested_at", "resumed_at"],
                )  # fmt: skip
        self.facts, self.pauses = [], []

    async def finish(self) -> None:
        await self.flush()
        rows = [(*key, value) for key, value in sorted(self.counts.items()) if value]
        async with self.ctx.db.engine.begin() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.copy_records_to_table(
                "counts", records=rows,
                columns=["agency_code", "procedure_code", "metric", "unit", "start", "value"],
            )  # fmt: skip
            # Names only where none is known: the catalogue's, replayed below, win.
            await raw.executemany(
                "INSERT INTO agencies (code, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                list(self.agencies.items()),
            )
            await raw.executemany(
                "INSERT INTO procedures (code, name, field) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                [(code, *named) for code, named in self.procedures.items()],
            )
        for envelope in self.catalogues:
            async with self.ctx.db.transaction() as session:
                data = envelope.payload_as(ev.CataloguePublished)
                await projection.apply_catalogue(self.ctx, session, envelope, data)


async def _archived(ctx: Context) -> AsyncIterator[tuple[Envelope, str | None]]:
    """The archive, streamed dossier by dossier (in time within each), then the events of
    no dossier."""
    code = func.coalesce(archive.c.envelope["dossier_code"].astext, "")
    query = select(archive.c.envelope, archive.c.applicant_name).order_by(
        code, archive.c.occurred_at, archive.c.event_id
    )
    async with ctx.db.engine.connect() as connection:
        result = await connection.stream(query.execution_options(yield_per=CHUNK))
        async for envelope, name in result:
            yield Envelope.model_validate(envelope), name


async def _load(ctx: Context, source: Path) -> int:
    """The file's envelopes added to the archive (redacted, as the consumer archives
    them), streamed in chunks; returns how many lines were read."""
    read = 0
    chunk: list[tuple[Any, ...]] = []

    async def write() -> None:
        async with ctx.db.transaction() as session:
            await projection.ARCHIVE.executemany(session, chunk)
        chunk.clear()

    with source.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            read += 1
            envelope = Envelope.model_validate(json.loads(line))
            name = None
            if envelope.key in registry and isinstance(
                data := envelope.payload(), ev.DossierSubmitted
            ):
                name = data.applicant.full_name
            chunk.append(projection.archived(envelope, name))
            if len(chunk) >= CHUNK:
                await write()
    if chunk:
        await write()
    return read


async def rebuild(
    ctx: Context, source: Path | None = None, *, progress: Callable[[str], None] | None = None
) -> int:
    """Empty the projections and replay the archive; returns how many events were applied.
    Raises ConsumersRunning, changing nothing, while a stats consumer runs."""
    lock = MaintenanceLock(ctx.db, projection.MAINTENANCE_LOCK)
    if not await lock.try_exclusive():
        raise ConsumersRunning
    try:
        if source is not None:
            await _load(ctx, source)
        async with ctx.db.transaction() as session:
            total = int(await session.scalar(select(func.count()).select_from(archive)) or 0)
            await session.execute(text("TRUNCATE facts, pauses, counts"))
        shown = Progress(total, progress or (lambda _line: None))
        writer = _Writer(ctx)
        applied = 0
        dossier: list[tuple[Envelope, ev.DossierEvent]] = []
        async for envelope, name in _archived(ctx):
            shown.step()
            if not _wanted(envelope):
                continue
            applied += 1
            restored = _restore(envelope, name)
            data = restored.payload()
            if isinstance(data, ev.DossierEvent):
                if dossier and (dossier[0][0].dossier_code or "") != (restored.dossier_code or ""):
                    writer.dossier(dossier)
                    dossier = []
                    if len(writer.facts) >= CHUNK:
                        await writer.flush()
                dossier.append((restored, data))
            elif isinstance(data, ev.FeedbackSubmitted):
                writer.count(data.agency_code, data.procedure_code, feedback_counters(data))
            elif isinstance(data, ev.CataloguePublished):
                writer.catalogues.append(restored)
        if dossier:
            writer.dossier(dossier)
        await writer.finish()
        shown.step(0, final=True)
        return applied
    finally:
        await lock.release()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stats.rebuild", description=__doc__)
    parser.add_argument("--archive", type=Path, help="JSON lines of envelopes to add and replay")
    args = parser.parse_args(argv)
    # The runtime's parts, unstarted: rebuilding needs the database only.
    ctx = Runtime(build()).resources

    def show(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    async def run() -> int:
        try:
            applied = await rebuild(ctx, args.archive, progress=show)
        except ConsumersRunning:
            show(
                "stats.rebuild: a stats consumer is running (python -m stats consume|all);"
                " stop every one of them, then rebuild. Nothing was changed."
            )
            return 2
        finally:
            await ctx.db.dispose()
        print(f"rebuilt the projections from {applied} event(s)")
        return 0

    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
