"""Rebuild the projections from scratch by replaying the event archive.

    python -m stats.rebuild                  # replay stats's own archive table
    python -m stats.rebuild --archive F.jsonl  # replay envelopes from a file, one per line

The projections (facts, pauses, counters) are emptied and every archived event is applied
again through the same handlers, in the order of their time. The handlers do not depend
on order, so the result is the report the live service would give; the archive itself is
kept (events from a file are added to it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy import select, text, tuple_

from shared.contracts import Envelope
from shared.contracts.envelope import registry
from shared.runtime import Runtime
from stats.adapters.tables import archive
from stats.bootstrap import build
from stats.consumers import HANDLERS
from stats.services.context import Context

_BY_TYPE = {model.event_type: handler for model, handler in HANDLERS.items()}


async def _archived(ctx: Context, batch: int = 5000) -> AsyncIterator[tuple[Envelope, str | None]]:
    last: tuple[Any, Any] | None = None
    while True:
        query = select(
            archive.c.occurred_at, archive.c.event_id, archive.c.envelope, archive.c.applicant_name
        ).order_by(archive.c.occurred_at, archive.c.event_id)
        if last is not None:
            query = query.where(tuple_(archive.c.occurred_at, archive.c.event_id) > tuple_(*last))
        async with ctx.db.transaction() as session:
            rows = (await session.execute(query.limit(batch))).all()
        if not rows:
            return
        for _, _, envelope, name in rows:
            yield Envelope.model_validate(envelope), name
        last = (rows[-1][0], rows[-1][1])


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
    if envelope.type == "dossier.submitted" and applicant_name is not None:
        data["applicant"] = {**data["applicant"], "full_name": applicant_name}
    return envelope.model_copy(update={"data": data})


async def apply(ctx: Context, envelopes: Iterable[tuple[Envelope, str | None]]) -> int:
    applied = 0
    seen: set[Any] = set()
    for envelope, name in envelopes:
        # An archive may hold an event twice (exported twice, merged files): apply it once,
        # as the inbox does for live deliveries.
        if envelope.type not in _BY_TYPE or envelope.key not in registry or envelope.id in seen:
            continue
        seen.add(envelope.id)
        restored = _restore(envelope, name)
        async with ctx.db.transaction() as session:
            await _BY_TYPE[envelope.type](ctx, session, restored, restored.payload())
        applied += 1
    return applied


async def rebuild(ctx: Context, source: Path | None = None) -> int:
    """Empty the projections and replay; returns how many events were applied."""
    async with ctx.db.transaction() as session:
        await session.execute(text("TRUNCATE facts, pauses, counts"))
    if source is not None:
        with source.open(encoding="utf-8") as lines:
            loaded = [
                (Envelope.model_validate(json.loads(line)), None) for line in lines if line.strip()
            ]
        return await apply(ctx, sorted(loaded, key=lambda e: (e[0].occurred_at, str(e[0].id))))
    replayed = [item async for item in _archived(ctx)]
    return await apply(ctx, replayed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stats.rebuild", description=__doc__)
    parser.add_argument("--archive", type=Path, help="JSON lines of envelopes to replay")
    args = parser.parse_args(argv)
    # The runtime's parts, unstarted: rebuilding needs the database only.
    ctx = Runtime(build()).resources

    async def run() -> None:
        try:
            applied = await rebuild(ctx, args.archive)
        finally:
            await ctx.db.dispose()
        print(f"rebuilt the projections from {applied} event(s)")

    asyncio.run(run())


if __name__ == "__main__":
    main()
