"""Dossier events applied in runs (the consumer's batches, one call for the consecutive
dossier events of any dossiers) give exactly the projections of the same events applied
one after the other: over generated histories, in their order and shuffled, with
redelivered copies (a new id) and duplicates (the same id), cut into batches of random
sizes, ratings and the catalogue among them."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.stats.tests.integration.history import START, generate
from services.stats.tests.integration.test_rebuild import _tables
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.messaging import Batched, InboxConsumer
from shared.runtime import Role, bind_all
from shared.testing.delivered import Delivered
from shared.testing.service import ServiceUnderTest, StartService
from stats.consumers import DOSSIER_EVENTS, HANDLERS
from stats.rebuild import apply
from stats.services import projection

pytestmark = pytest.mark.integration

API_ONLY = frozenset({Role.API})


def _history(seed: int, *, shuffled: bool) -> list[Envelope]:
    """A generated history with ratings, redelivered copies and duplicates mixed in."""
    rng = random.Random(seed)
    events = generate(seed=seed, count=60).events
    if shuffled:
        rng.shuffle(events)
    ratings = [
        Envelope.wrap(
            ev.FeedbackSubmitted(procedure_code="1.004194", agency_code="G01.306.000.000",
                                 rating=1 + i % 5, complaint=i % 3 == 0,
                                 submitted_at=START + timedelta(days=i)),
            source="intake", occurred_at=START + timedelta(days=i),
        )
        for i in range(8)
    ]  # fmt: skip
    for rating in ratings:
        events.insert(rng.randrange(len(events)), rating)
    # A copy soon after its original: the same id (applies nothing) or, as a publisher
    # sending it again would, a new one (applied again, changing nothing more).
    for _ in range(25):
        at = rng.randrange(len(events))
        original = events[at]
        copy = original if rng.random() < 0.5 else original.model_copy(update={"id": uuid.uuid4()})
        events.insert(min(at + rng.randint(1, 5), len(events)), copy)
    return events


async def _snapshot(stats: ServiceUnderTest) -> dict[str, Any]:
    tables = await _tables(stats)
    async with stats.runtime.db.transaction() as session:
        archived = await session.execute(
            text("SELECT event_id, type, occurred_at, envelope, applicant_name FROM archive"
                 " ORDER BY event_id")
        )  # fmt: skip
        tables["archive"] = [tuple(r) for r in archived]
    return tables


async def _empty(stats: ServiceUnderTest) -> None:
    async with stats.runtime.db.transaction() as session:
        await session.execute(
            text("TRUNCATE inbox, archive, facts, pauses, counts, agencies, procedures")
        )


@pytest.mark.parametrize(("seed", "shuffled"), [(11, False), (12, True), (13, True)])
async def test_runs_of_any_size_give_what_the_events_one_by_one_give(
    start_stats: StartService, seed: int, shuffled: bool
) -> None:
    stats = await start_stats(roles=API_ONLY)
    ctx = stats.runtime.ctx
    events = _history(seed, shuffled=shuffled)
    # One by one: each event alone in its own transaction (a run of one).
    await apply(ctx, [(e, None) for e in events])
    one_by_one = await _snapshot(stats)
    assert all(one_by_one[name] for name in ("facts", "pauses", "counts", "archive"))
    await _empty(stats)

    runs: list[list[tuple[str | None, str]]] = []

    async def recorded(ctx_: Any, session: AsyncSession, run: Sequence[Any]) -> None:
        runs.append([(envelope.dossier_code, envelope.type) for envelope, _ in run])
        await projection.apply_dossier_events(ctx_, session, run)

    # One object for all the dossier types, as DOSSIER_EVENTS is.
    recording = Batched(recorded)
    handlers = {
        model: recording if handler is DOSSIER_EVENTS else handler
        for model, handler in HANDLERS.items()
    }
    consumer = InboxConsumer(
        "stats", stats.runtime.db, stats.runtime.broker, bind_all(handlers, ctx),
        stats.runtime.metrics,
    )  # fmt: skip
    rng = random.Random(seed)
    at = 0
    while at < len(events):
        size = rng.choice([1, 2, 3, 5, 8, 13, 32, 64])
        await consumer.on_batch([Delivered(e) for e in events[at : at + size]])  # type: ignore[misc]
        at += size

    assert await _snapshot(stats) == one_by_one
    # The runs did mix dossiers and types, and held several events of one dossier.
    assert any(len({code for code, _ in run}) > 1 for run in runs)
    assert any(len({kind for _, kind in run}) > 1 for run in runs)
    assert any(len({code for code, _ in run}) < len(run) for run in runs)


def test_every_dossier_event_has_the_one_run_handler() -> None:
    dossier_types = [model for model in HANDLERS if issubclass(model, ev.DossierEvent)]
    assert len(dossier_types) > 10
    assert all(HANDLERS[model] is DOSSIER_EVENTS for model in dossier_types)
