"""Poison messages, put straight into one service's queue (the default exchange, routed
by queue name) so that only that consumer meets them: what a bug upstream or a
hand-published message would put there."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aio_pika

from shared.testing import infra
from tests.chaos.cluster import Cluster

TEN_MB = 10 * 1024 * 1024


async def _real(cluster: Cluster, service: str, event_type: str) -> dict[str, Any]:
    """A real envelope of `event_type` from `service`'s outbox, to be spoiled."""

    async def one() -> dict[str, Any] | None:
        rows = await cluster.query(
            service, "SELECT envelope FROM outbox WHERE event_type = $1 LIMIT 1", event_type
        )
        return json.loads(rows[0]["envelope"]) if rows else None

    return await infra.eventually(one, timeout=120, interval=0.5, what=f"a {event_type}")


async def poison(cluster: Cluster) -> dict[str, int]:
    """Invalid JSON to workflow, an unknown version to stats, a 10 MB body to notify, and
    to intake an event its handler always raises on (a receipt of a dossier it does not
    know): each must be parked, once. Returns the parking queues they must end in."""
    unknown_version = await _real(cluster, "intake", "dossier.submitted")
    unknown_version |= {"id": str(uuid.uuid4()), "version": 99}
    always_raises = await _real(cluster, "workflow", "dossier.received")
    always_raises |= {
        "id": str(uuid.uuid4()),
        "dossier_code": f"G01.306-NONE-{uuid.uuid4().hex[:6]}",
    }
    bodies = {
        "workflow": b'{"id": "not json at all',
        "stats": json.dumps(unknown_version).encode(),
        "notify": b'{"padding": "' + b"x" * TEN_MB + b'"}',
        "intake": json.dumps(always_raises).encode(),
    }
    connection = await aio_pika.connect(cluster.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        for service, body in bodies.items():
            message = aio_pika.Message(
                body, content_type="application/json", message_id=str(uuid.uuid4()),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )  # fmt: skip
            await channel.default_exchange.publish(
                message, routing_key=f"{cluster.namespace}.{service}"
            )
    finally:
        await connection.close()
    for service in bodies:
        key = f"{service}.parked"
        cluster.poisoned[key] = cluster.poisoned.get(key, 0) + 1
    return {f"{service}.parked": 1 for service in bodies}
