"""Event contracts: the envelope and one versioned model per event type."""

from shared.contracts import events
from shared.contracts.envelope import Envelope, EventData, registry, sensitive

__all__ = ["Envelope", "EventData", "events", "registry", "sensitive"]
