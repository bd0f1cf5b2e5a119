"""Handlers of the events intake consumes, keyed by event model."""

from intake.consumers.workflow_events import apply_workflow_event
from shared.contracts import events as ev
from shared.messaging import Handler

HANDLERS: dict[type, Handler] = {
    model: apply_workflow_event
    for model in (
        ev.DossierReceived,
        ev.DossierSupplementRequested,
        ev.DossierResumed,
        ev.DossierRejected,
        ev.DossierAssigned,
        ev.DossierSubmittedForApproval,
        ev.DossierSentBack,
        ev.DossierApproved,
        ev.DossierResultReady,
        ev.DossierReturned,
        ev.DossierDeadlineExtended,
    )
}
