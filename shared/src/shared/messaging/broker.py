"""The RabbitMQ connection of a process: robust (it reconnects and restores the
topology and consumers by itself) with a confirming channel for publishing."""

from __future__ import annotations

import logging
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractRobustConnection,
)

from shared.messaging.topology import Topology

log = logging.getLogger(__name__)

# Seconds before each reconnection attempt after the broker drops the connection.
RECONNECT_INTERVAL = 1.0
PUBLISH_TIMEOUT = 10.0


class Broker:
    def __init__(self, url: str, topology: Topology, *, name: str) -> None:
        self.url = url
        self.topology = topology
        self.name = name
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self.url,
            reconnect_interval=RECONNECT_INTERVAL,
            client_properties={"connection_name": self.name},
        )
        # Confirms: publish() returns only once the broker has the message on disk;
        # on_return_raises: a message no queue is bound for is an error, not a loss.
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._exchange = await self.topology.declare(self._channel)

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("broker not connected")
        return self._connection

    async def channel(self, prefetch: int | None = None) -> AbstractChannel:
        """A further channel on the same connection (consumers take their own)."""
        channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        if prefetch is not None:
            await channel.set_qos(prefetch_count=prefetch)
        return channel

    async def publish_event(self, body: bytes, routing_key: str, **properties: Any) -> None:
        """Publish to the events exchange; returns once confirmed, raises otherwise."""
        assert self._exchange is not None, "broker not connected"
        await self._exchange.publish(
            _message(body, **properties), routing_key, mandatory=True, timeout=PUBLISH_TIMEOUT
        )

    async def send_to_queue(self, queue: str, body: bytes, **properties: Any) -> None:
        """Publish straight to a named queue (retry and parking), confirmed."""
        assert self._channel is not None, "broker not connected"
        await self._channel.default_exchange.publish(
            _message(body, **properties), queue, mandatory=True, timeout=PUBLISH_TIMEOUT
        )

    async def ping(self) -> None:
        if self._connection is None or self._connection.is_closed:
            raise ConnectionError("broker connection is closed")

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


def _message(body: bytes, **properties: Any) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        **properties,
    )
