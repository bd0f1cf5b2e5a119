"""Handlers of the events notify consumes, keyed by event model."""

from notify.domain.messages import NOTIFIED
from notify.services.context import Context
from notify.services.inbound import catalogue_published, notify
from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.runtime import Handler

HANDLERS: dict[type[EventData], Handler[Context]] = {
    **dict.fromkeys(NOTIFIED, notify),
    ev.CataloguePublished: catalogue_published,
}
