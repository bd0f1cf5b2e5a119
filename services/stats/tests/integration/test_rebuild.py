"""`python -m stats.rebuild` against the live projection: on a generated history (with
duplicates, shuffled, ratings and the catalogue) the rebuilt facts, pauses and counters
are those the consumer's handlers made; from a file too; and it refuses to start while a
stats consumer runs."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.stats.tests.integration.history import START, History, catalogue, generate
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.runtime import Role
from shared.testing.service import ServiceUnderTest, StartService
from stats.rebuild import apply, rebuild

pytestmark = pytest.mark.integration

API_ONLY = frozenset({Role.API})


def _events() -> list[Envelope]:
    history: History = generate(seed=20251201)
    ratings = [
        Envelope.wrap(
            ev.FeedbackSubmitted(procedure_code="1.004194", agency_code="G01.306.000.000",
                                 rating=1 + i % 5, complaint=i % 7 == 0,
                                 submitted_at=START + timedelta(days=i, hours=i % 24)),
            source="intake", occurred_at=START + timedelta(days=i),
        )
        for i in range(40)
    ]  # fmt: skip
    events = [catalogue(), *history.events, *ratings]
    shuffled = events + random.Random(3).sample(events, 100)
    random.Random(5).shuffle(shuffled)
    return shuffled


async def _tables(stats: ServiceUnderTest) -> dict[str, Any]:
    async with stats.runtime.db.transaction() as session:
        facts = (await session.execute(text("SELECT * FROM facts ORDER BY code"))).mappings()
        pauses = await session.execute(text("SELECT * FROM pauses ORDER BY code, round"))
        counts = await session.execute(
            text("SELECT agency_code, procedure_code, metric, unit, start, round(value::numeric, 6)"
                 " FROM counts WHERE value <> 0 ORDER BY 1, 2, 3, 4, 5")
        )  # fmt: skip
        names = await session.execute(
            text("SELECT a.code, a.name, a.level, a.parent_code FROM agencies a ORDER BY 1")
        )
        procedures = await session.execute(text("SELECT * FROM procedures ORDER BY code"))
        return {
            "facts": [dict(r) for r in facts],
            "pauses": [tuple(r) for r in pauses],
            "counts": [tuple(r) for r in counts],
            "agencies": [tuple(r) for r in names],
            "procedures": [tuple(r) for r in procedures],
        }


async def test_the_rebuilt_projections_are_those_the_consumer_made(
    start_stats: StartService, tmp_path: Path
) -> None:
    stats = await start_stats(roles=API_ONLY)
    events = _events()
    applied = await apply(stats.runtime.ctx, [(e, None) for e in events])
    live = await _tables(stats)
    assert all(live[name] for name in ("facts", "pauses", "counts"))

    shown: list[str] = []
    assert await rebuild(stats.runtime.ctx, progress=shown.append) == applied
    assert await _tables(stats) == live
    assert shown[-1].startswith(f"{applied}/{applied} events, ")

    # From a file of the same envelopes (with their duplicates) into an empty archive.
    source = tmp_path / "events.jsonl"
    source.write_text("".join(e.model_dump_json() + "\n" for e in events), encoding="utf-8")
    async with stats.runtime.db.transaction() as session:
        await session.execute(text("TRUNCATE archive, facts, pauses, counts"))
    assert await rebuild(stats.runtime.ctx, source) == applied
    assert await _tables(stats) == live


async def test_the_rebuild_refuses_to_start_while_a_consumer_runs(
    stats: ServiceUnderTest, database_url: str
) -> None:
    events = _events()[:50]
    await apply(stats.runtime.ctx, [(e, None) for e in events])
    before = await _tables(stats)
    env = {**os.environ, "STATS_DATABASE_URL": database_url}
    refused = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "stats.rebuild"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "a stats consumer is running" in refused.stderr
    assert await _tables(stats) == before
