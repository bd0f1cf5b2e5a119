"""Handlers of the events workflow consumes, keyed by event model."""

from shared.messaging import Handler

HANDLERS: dict[type, Handler] = {}
