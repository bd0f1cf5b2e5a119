"""Handlers of the events notify consumes, keyed by event model."""

from notify.domain.messages import NOTIFIED, SILENT
from notify.services.context import Context
from notify.services.inbound import notify
from shared.contracts.envelope import EventData
from shared.runtime import Handler, ignore

HANDLERS: dict[type[EventData], Handler[Context]] = {
    **dict.fromkeys(NOTIFIED, notify),
    **dict.fromkeys(SILENT, ignore),
}
