"""Handlers of the events notify consumes, keyed by event model."""

from notify.domain.messages import NOTIFIED, SILENT
from notify.services.inbound import event_handler, ignore
from shared.messaging import Handler


def handlers(max_segments: int) -> dict[type, Handler]:
    notify = event_handler(max_segments)
    return {**{model: notify for model in NOTIFIED}, **{model: ignore for model in SILENT}}
