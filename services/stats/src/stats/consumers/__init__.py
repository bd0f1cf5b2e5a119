"""Handlers of the events stats consumes, keyed by event model."""

from shared.messaging import Handler

HANDLERS: dict[type, Handler] = {}
