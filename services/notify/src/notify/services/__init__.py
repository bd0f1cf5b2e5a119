"""notify's use cases: one transaction each, events added to the outbox inside it."""
