"""The topology's declaration against the real RabbitMQ: a key a service no longer
subscribes to stops routing to its queue at the next start."""

from __future__ import annotations

import aio_pika
import pytest

from shared.messaging.topology import RETIRED, SUBSCRIPTIONS, Topology
from shared.testing.infra import eventually

pytestmark = pytest.mark.integration


async def test_a_retired_key_is_unbound_at_the_next_start(
    rabbit: tuple[str, str], amqp_namespace: str
) -> None:
    assert "dossier.#" in RETIRED["notify"]
    # A queue declared by a release that still bound dossier.# for notify.
    earlier = Topology(
        namespace=amqp_namespace,
        subscriptions={**SUBSCRIPTIONS, "notify": (*SUBSCRIPTIONS["notify"], "dossier.#")},
    )
    connection = await aio_pika.connect(rabbit[1])
    try:
        channel = await connection.channel(publisher_confirms=True)
        await earlier.declare(channel)
        exchange = await Topology(namespace=amqp_namespace).declare(channel)
        for key in ("dossier.synced", "dossier.submitted"):
            await exchange.publish(aio_pika.Message(body=key.encode()), routing_key=key)
        queue = await channel.declare_queue(f"{amqp_namespace}.notify", passive=True)

        first = await eventually(lambda: queue.get(fail=False), what="a message in notify's queue")
        await first.ack()
        assert first.routing_key == "dossier.submitted"
        assert await queue.get(fail=False) is None
    finally:
        await connection.close()
