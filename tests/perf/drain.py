"""A consumer's drain in one process, without the broker: `python -m tests.perf.drain
SERVICE N` applies N distinct dossier.submitted envelopes through the service's inbox
consumer (its handlers, its database, fresh and migrated), in batches of `DRAIN_BATCH`
(the service's batch setting unless set), with acks that cost nothing; for notify every
SMS is then sent (development provider). Prints the process's CPU per event and the rate.

It measures what the pipeline benchmark's backlog drain measures less the AMQP side
(about the raw consume + ack), and runs when RabbitMQ cannot be had.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import resource
import sys
import time
import uuid
from typing import Any

from sqlalchemy import text

from services.stats.tests.integration.history import generate
from shared.messaging import InboxConsumer
from shared.runtime import Runtime, bind_all, migrate
from shared.testing import infra

BATCH = int(os.environ.get("DRAIN_BATCH", "0"))
RECIPIENT = {"full_name": "Nguyen Van An", "phone": "0912345678", "channels": ["sms"]}


class _Delivered:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers: dict[str, Any] = {}
        self.message_id = self.type = self.correlation_id = self.app_id = None

    async def ack(self, multiple: bool = False) -> None:  # noqa: ARG002 (acks cost nothing)
        return None


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drain(service: str, count: int) -> str:
    boot = importlib.import_module(f"{service}.bootstrap")
    name = f"dvc_bench_drain_{uuid.uuid4().hex[:6]}"
    url = await infra.recreate_database(name)
    try:
        definition = boot.build(type(boot.build().settings)(database_url=url))
        await asyncio.to_thread(migrate, definition)
        runtime = Runtime(definition)
        ctx = await definition.context(runtime.resources)
        handlers = bind_all(definition.handlers, ctx)
        settings = definition.settings
        consumer = InboxConsumer(
            service, runtime.db, runtime.broker, handlers, runtime.metrics,
            prefetch=settings.consumer_prefetch, batch_size=settings.consumer_batch,
        )  # fmt: skip
        template = next(
            e for e in generate(seed=1, count=50).events if e.type == "dossier.submitted"
        )
        bodies = [
            template.model_copy(update={
                "id": uuid.uuid4(), "dossier_code": f"G01-DRAIN-{n:08d}",
                "data": {**template.data, "dossier_id": str(uuid.uuid4()), "recipient": RECIPIENT},
            }).model_dump_json().encode()
            for n in range(count)
        ]  # fmt: skip
        started, wall = _cpu(), time.perf_counter()
        size = BATCH or consumer.batch_size
        for k in range(0, count, size):
            delivered: list[Any] = [_Delivered(b) for b in bodies[k : k + size]]
            await consumer.on_batch(delivered)
        if service == "notify":
            from notify.services.sender import send_due

            while await send_due(ctx):
                pass
        used, wall = _cpu() - started, time.perf_counter() - wall
        async with runtime.db.transaction() as session:
            applied = (await session.execute(text("SELECT count(*) FROM inbox"))).scalar()
        await runtime.db.dispose()
        return (f"{service}: {applied} applied, {used / count * 1000:.3f} ms CPU/event, "
                f"{count / wall:.0f} events/s, batches of {size} (load {os.getloadavg()[0]:.1f})")  # fmt: skip
    finally:
        await infra.drop_database(name)


if __name__ == "__main__":
    print(asyncio.run(drain(sys.argv[1], int(sys.argv[2]))))
