"""A handler of runs of events (`Batched`), against the real PostgreSQL: what a batch
hands it, in which order, in which transaction, and what happens when a run fails."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Envelope, EventData
from shared.messaging import Batched
from shared.runtime import bind_all, ignore
from shared.testing.delivered import Delivered
from shared.testing.infra import eventually
from shared.testing.probe import Probe, ProbeHappened, effects

pytestmark = pytest.mark.integration


class ProbeNoted(EventData):
    event_type = "probe.noted"

    label: str


def _wrap(data: EventData) -> Envelope:
    return Envelope.wrap(data, source="elsewhere", correlation_id=f"c-{data.label}")  # type: ignore[attr-defined]


class _Handlers:
    """A `Batched` handler of ProbeHappened and a one-at-a-time one of ProbeNoted, both
    writing an effect row per event, with what each call was given and its transaction."""

    def __init__(self, probe: Probe, *, poison: str | None = None) -> None:
        self.runs: list[list[str]] = []
        self.alone: list[str] = []
        self.transactions: list[int] = []
        self.poison = poison
        probe.consumer.handlers = {
            ProbeHappened.key(): (ProbeHappened, Batched(self.together)),
            ProbeNoted.key(): (ProbeNoted, self.one),
        }

    async def together(self, session: AsyncSession, events: Sequence[tuple[Envelope, Any]]) -> None:
        self.runs.append([data.label for _, data in events])
        self.transactions.append(int(await session.scalar(select(func.txid_current())) or 0))
        for envelope, data in events:
            await session.execute(effects.insert().values(event_id=envelope.id, label=data.label))
            if data.label == self.poison:
                raise RuntimeError("the handler is broken on purpose")

    async def one(self, session: AsyncSession, envelope: Envelope, data: ProbeNoted) -> None:
        self.alone.append(data.label)
        self.transactions.append(int(await session.scalar(select(func.txid_current())) or 0))
        await session.execute(effects.insert().values(event_id=envelope.id, label=data.label))


async def _labels_applied(probe: Probe) -> list[str]:
    async with probe.db.transaction() as session:
        rows = await session.execute(select(effects.c.label).order_by(effects.c.id))
        return list(rows.scalars())


async def test_consecutive_events_of_a_batched_handler_come_in_one_call_in_their_order(
    probe: Probe,
) -> None:
    handlers = _Handlers(probe)
    a = [_wrap(ProbeHappened(label=f"a{i}")) for i in range(4)]
    noted = _wrap(ProbeNoted(label="n"))
    acks: list[tuple[Envelope, bool]] = []
    # A duplicate of a0 between a2 and a3 applies nothing, so a2 and a3 are one run.
    delivered = [a[0], a[1], noted, a[2], a[0], a[3]]

    await probe.consumer.on_batch([Delivered(e, acks) for e in delivered])  # type: ignore[misc]

    assert handlers.runs == [["a0", "a1"], ["a2", "a3"]]
    assert handlers.alone == ["n"]
    assert await _labels_applied(probe) == ["a0", "a1", "n", "a2", "a3"]
    # One transaction for the whole batch, then one ack for it all after the commit.
    assert len(set(handlers.transactions)) == 1
    assert _labelled(acks) == [("a3", True)]


async def test_a_failing_run_is_applied_again_event_by_event_and_the_good_ones_once(
    probe: Probe,
) -> None:
    handlers = _Handlers(probe, poison="a2")
    a = [_wrap(ProbeHappened(label=f"a{i}")) for i in range(4)]
    acks: list[tuple[Envelope, bool]] = []

    await probe.consumer.on_batch([Delivered(e, acks) for e in a])  # type: ignore[misc]

    # The batch as one run, rolled back; then each event alone, as a run of one.
    assert handlers.runs == [["a0", "a1", "a2", "a3"], ["a0"], ["a1"], ["a2"], ["a3"]]
    assert await _labels_applied(probe) == ["a0", "a1", "a3"]
    # Each acked on its own: the poison once sent to its retry queue.
    assert sorted(_labelled(acks)) == [("a0", False), ("a1", False), ("a2", False), ("a3", False)]
    assert probe.outcome("retried") == 1


async def test_one_batched_handler_of_several_types_takes_them_in_one_run(probe: Probe) -> None:
    runs: list[list[str]] = []

    async def together(_ctx: Any, _session: AsyncSession, events: Sequence[Any]) -> None:
        runs.append([data.label for _, data in events])

    handler = Batched(together)
    bound = bind_all({ProbeHappened: handler, ProbeNoted: handler}, None)
    probe.consumer.handlers = {model.key(): (model, h) for model, h in bound.items()}
    delivered = [
        _wrap(ProbeHappened(label="a")), _wrap(ProbeNoted(label="n")), _wrap(ProbeHappened(label="b"))
    ]  # fmt: skip

    await probe.consumer.on_batch([Delivered(e, []) for e in delivered])  # type: ignore[misc]

    assert runs == [["a", "n", "b"]]


async def test_an_ignored_event_is_recorded_and_does_not_end_a_run(probe: Probe) -> None:
    runs: list[list[str]] = []

    async def together(_ctx: Any, _session: AsyncSession, events: Sequence[Any]) -> None:
        runs.append([data.label for _, data in events])

    bound = bind_all({ProbeHappened: Batched(together), ProbeNoted: ignore}, None)
    probe.consumer.handlers = {model.key(): (model, h) for model, h in bound.items()}
    delivered = [
        _wrap(ProbeHappened(label="a")), _wrap(ProbeNoted(label="n")), _wrap(ProbeHappened(label="b"))
    ]  # fmt: skip

    await probe.consumer.on_batch([Delivered(e, []) for e in delivered])  # type: ignore[misc]

    assert runs == [["a", "b"]]
    async with probe.db.transaction() as session:
        recorded = await session.scalar(text("SELECT count(*) FROM inbox"))
    assert recorded == 3


async def test_a_message_arriving_alone_waits_the_linger_for_others_to_share_its_batch(
    probe: Probe,
) -> None:
    handlers = _Handlers(probe)
    probe.consumer.linger = 0.5
    acks: list[tuple[Envelope, bool]] = []
    applier = asyncio.create_task(probe.consumer._apply_batches())
    try:
        await probe.consumer._deliver(Delivered(_wrap(ProbeHappened(label="a")), acks))  # type: ignore[arg-type]
        # The second arrives while the first waits: both in one transaction, one ack.
        await asyncio.sleep(0.05)
        await probe.consumer._deliver(Delivered(_wrap(ProbeHappened(label="b")), acks))  # type: ignore[arg-type]
        await eventually(lambda: _acked(acks), what="the batch acknowledged")
    finally:
        applier.cancel()
    assert handlers.runs == [["a", "b"]]
    assert _labelled(acks) == [("b", True)]


async def _acked(acks: list[tuple[Envelope, bool]]) -> bool:
    return bool(acks)


def _labelled(acks: list[tuple[Envelope, bool]]) -> list[tuple[str, bool]]:
    return [(envelope.data["label"], multiple) for envelope, multiple in acks]
