"""Topic bindings as RabbitMQ routes them, and what the runtime refuses to start with."""

from __future__ import annotations

from typing import ClassVar

import pytest

from shared.contracts.envelope import Envelope, EventData, latest, registry
from shared.messaging.topology import routes, wiring_errors


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("dossier.submitted", "dossier.submitted", True),
        ("dossier.#", "dossier.submitted", True),
        ("dossier.#", "dossier", True),
        ("dossier.*", "dossier.submitted", True),
        ("dossier.*", "dossier.a.b", False),
        ("#", "anything.at.all", True),
        ("account.#", "dossier.submitted", False),
        ("dossier.submitted", "dossier.supplemented", False),
        ("*.submitted", "dossier.submitted", True),
    ],
)
def test_routes_follows_amqp_topic_rules(pattern: str, key: str, expected: bool) -> None:
    assert routes(pattern, key) is expected


class WiringSeen(EventData):
    event_type: ClassVar[str] = "wiring.seen"


class WiringSeenV2(EventData):
    event_type: ClassVar[str] = "wiring.seen"
    version: ClassVar[int] = 2
    where: str


class WiringLost(EventData):
    event_type: ClassVar[str] = "wiring.lost"


def test_agreeing_handlers_and_subscriptions_have_no_errors() -> None:
    subscriptions = {"svc": ("wiring.seen", "wiring.#")}
    assert wiring_errors("svc", [WiringSeen, WiringSeenV2, WiringLost], subscriptions) == []


def test_a_handler_nothing_routes_and_a_subscription_nothing_handles_are_named() -> None:
    errors = wiring_errors("svc", [WiringLost], {"svc": ("wiring.seen",)})
    assert errors == [
        "handles 'wiring.lost' but no subscription routes it",
        "subscribes to 'wiring.seen' but nothing handles it",
    ]


def test_two_versions_of_a_type_live_side_by_side() -> None:
    assert registry[("wiring.seen", 1)] is WiringSeen
    assert registry[("wiring.seen", 2)] is WiringSeenV2
    assert latest("wiring.seen") is WiringSeenV2
    v2 = Envelope.wrap(WiringSeenV2(where="here"), source="test")
    assert v2.key == ("wiring.seen", 2)
    assert v2.payload() == WiringSeenV2(where="here")
    with pytest.raises(TypeError):
        v2.payload_as(WiringSeen)


def test_the_same_type_and_version_cannot_be_declared_twice() -> None:
    with pytest.raises(TypeError, match="declared twice"):

        class Again(EventData):
            event_type: ClassVar[str] = "wiring.seen"
            version: ClassVar[int] = 2
