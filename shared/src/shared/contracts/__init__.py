"""Event contracts: the envelope and one versioned model per event type."""

from shared.contracts import events
from shared.contracts.envelope import Envelope, EventData, EventKey, registry, sensitive

__all__ = ["Envelope", "EventData", "EventKey", "events", "registry", "sensitive"]
