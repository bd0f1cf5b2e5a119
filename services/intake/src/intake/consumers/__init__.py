"""Handlers of the events intake consumes, keyed by event model."""

from shared.messaging import Handler

HANDLERS: dict[type, Handler] = {}
