"""Handlers of the events notify consumes, keyed by event model."""

from shared.messaging import Handler

HANDLERS: dict[type, Handler] = {}
