"""Handlers of the events notify consumes, keyed by event model."""

from notify.domain.messages import NOTIFIED, SILENT
from notify.services.context import Context
from notify.services.inbound import ignore, notify
from shared.contracts.envelope import EventData
from shared.runtime import Handler

HANDLERS: dict[type[EventData], Handler[Context]] = {
    **{model: notify for model in NOTIFIED},
    **{model: ignore for model in SILENT},
}
