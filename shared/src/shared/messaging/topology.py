"""Exchange and queue names, who subscribes to what, and their declaration.

Every process declares the whole topology, every service's queues included, so that an
event published before its consumer ever started waits in that consumer's queue instead
of being routed nowhere.

Per consuming service `svc` (names under the namespace, `dvc` by default):
- `dvc.svc`: quorum queue bound to `dvc.events` for the service's routing keys, with a
  delivery limit; a message redelivered past it (a handler that crashes the process) is
  dead-lettered to the parking queue by RabbitMQ itself.
- `dvc.svc.retry.<ms>`: one queue per back-off step; a failed message waits there for
  its TTL, then is dead-lettered back into `dvc.svc`.
- `dvc.svc.parked`: messages that kept failing; counted in metrics, replayed by command.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

# What each service consumes (ARCHITECTURE.md). A key added here is bound at the next
# start; a key removed must also be listed in RETIRED, so that the next start unbinds it
# (AMQP cannot list a queue's bindings). Each key routes only what the service handles:
# an event routed to a queue it is of no interest to still costs the broker a quorum
# write and the consumer a transaction.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "intake": (
        "dossier.registered",
        "dossier.received",
        "dossier.supplement_requested",
        "dossier.resumed",
        "dossier.rejected",
        "dossier.assigned",
        "dossier.submitted_for_approval",
        "dossier.sent_back",
        "dossier.approved",
        "dossier.awaiting_fee",
        "dossier.result_ready",
        "dossier.returned",
        "dossier.deadline_extended",
        "dossier.stopped",
        "calendar.published",
    ),
    "workflow": (
        "catalogue.published",
        "dossier.submitted",
        "dossier.supplemented",
        "dossier.withdrawn",
        "payment.completed",
    ),
    # Each event that tells someone (notify.domain.messages.NOTIFIED), not every dossier
    # event: two of a submission's four (the national portal's sync) tell no one.
    "notify": (
        "account.#",
        "dossier.submitted",
        "dossier.registered",
        "dossier.received",
        "dossier.supplement_requested",
        "dossier.rejected",
        "dossier.awaiting_fee",
        "dossier.result_ready",
        "dossier.returned",
        "dossier.deadline_extended",
        "dossier.resumed",
        "dossier.withdrawn",
        "dossier.due_soon",
        "dossier.overdue",
        "dossier.supplement_due_soon",
        "dossier.stopped",
        "catalogue.published",
    ),
    "stats": ("catalogue.#", "dossier.#", "feedback.#", "payment.#", "notification.#"),
}

# Keys once bound and no longer: unbound at every start (unbinding what is not bound is
# no error), so that a queue declared by an earlier release stops receiving them.
RETIRED: dict[str, tuple[str, ...]] = {"notify": ("dossier.#",)}


def routes(pattern: str, key: str) -> bool:
    """Whether a topic binding `pattern` routes the routing key `key` (AMQP topic rules:
    `*` is one word, `#` zero or more)."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and p[0] in ("*", k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), key.split("."))


def wiring_errors(
    service: str, handled: Iterable[Any], subscriptions: Mapping[str, tuple[str, ...]]
) -> list[str]:
    """What disagrees between a service's handlers (event models) and its subscriptions:
    a handled type no binding routes to its queue would never arrive; a type subscribed
    by name without a handler would be parked; a wildcard binding that routes nothing
    handled only fills the queue."""
    keys = subscriptions.get(service, ())
    types = {model.event_type for model in handled}
    errors = [
        f"handles {t!r} but no subscription routes it"
        for t in sorted(types)
        if not any(routes(pattern, t) for pattern in keys)
    ]
    errors += [
        f"subscribes to {pattern!r} but nothing handles it"
        for pattern in keys
        if not any(routes(pattern, t) for t in types)
    ]
    return errors


def _quorum(**extra: Any) -> dict[str, Any]:
    return {"x-queue-type": "quorum", **extra}


@dataclass(frozen=True)
class Topology:
    namespace: str = "dvc"
    retry_delays_ms: tuple[int, ...] = (1_000, 10_000, 60_000, 600_000)
    delivery_limit: int = 20
    subscriptions: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(SUBSCRIPTIONS))

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    def queue(self, service: str) -> str:
        return f"{self.namespace}.{service}"

    def retry_queue(self, service: str, delay_ms: int) -> str:
        return f"{self.namespace}.{service}.retry.{delay_ms}"

    def parked_queue(self, service: str) -> str:
        return f"{self.namespace}.{service}.parked"

    async def declare(self, channel: AbstractChannel) -> AbstractExchange:
        """Declare everything (idempotent); returns the events exchange."""
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        for service, keys in self.subscriptions.items():
            await self._declare_service(channel, exchange, service, keys)
        return exchange

    async def _declare_service(
        self,
        channel: AbstractChannel,
        exchange: AbstractExchange,
        service: str,
        keys: tuple[str, ...],
    ) -> AbstractQueue:
        main, parked = self.queue(service), self.parked_queue(service)
        await channel.declare_queue(parked, durable=True, arguments=_quorum())
        queue = await channel.declare_queue(
            main,
            durable=True,
            arguments=_quorum(
                **{
                    "x-delivery-limit": self.delivery_limit,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": parked,
                }
            ),
        )
        for key in keys:
            await queue.bind(exchange, routing_key=key)
        for key in RETIRED.get(service, ()):
            if key not in keys:
                await queue.unbind(exchange, routing_key=key)
        for delay in self.retry_delays_ms:
            await channel.declare_queue(
                self.retry_queue(service, delay),
                durable=True,
                arguments=_quorum(
                    **{
                        "x-message-ttl": delay,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": main,
                        # Expired messages move back only once the main queue has them.
                        "x-dead-letter-strategy": "at-least-once",
                        "x-overflow": "reject-publish",
                    }
                ),
            )
        return queue
