"""Handlers of the events intake consumes, keyed by event model."""

from intake.services.calendars import apply_calendar
from intake.services.context import Context
from intake.services.projection import apply_registration, apply_workflow_event
from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.runtime import Handler

HANDLERS: dict[type[EventData], Handler[Context]] = {
    # A paper dossier registered at workflow's desk: a dossier here without an owner.
    ev.DossierRegistered: apply_registration,
    ev.CalendarPublished: apply_calendar,
    **dict.fromkeys(
        (
            ev.DossierReceived,
            ev.DossierSupplementRequested,
            ev.DossierResumed,
            ev.DossierRejected,
            ev.DossierAssigned,
            ev.DossierSubmittedForApproval,
            ev.DossierSentBack,
            ev.DossierApproved,
            ev.DossierAwaitingFee,
            ev.DossierResultReady,
            ev.DossierReturned,
            ev.DossierDeadlineExtended,
            ev.DossierStopped,
        ),
        apply_workflow_event,
    ),
}
