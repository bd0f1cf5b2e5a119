"""Reliable messaging on RabbitMQ: topology, transactional outbox and relay, inbox
consumer with retries and a parking queue, replay of parked messages."""

from shared.messaging.broker import Broker
from shared.messaging.consumer import Apply, Batched, InboxConsumer
from shared.messaging.outbox import Outbox
from shared.messaging.relay import OutboxRelay
from shared.messaging.replay import replay_parked
from shared.messaging.topology import SUBSCRIPTIONS, Topology

__all__ = [
    "SUBSCRIPTIONS",
    "Apply",
    "Batched",
    "Broker",
    "InboxConsumer",
    "Outbox",
    "OutboxRelay",
    "Topology",
    "replay_parked",
]
