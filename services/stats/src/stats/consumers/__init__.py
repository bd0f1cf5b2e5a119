"""Handlers of the events stats consumes, keyed by event model: every dossier event, the
feedback, the catalogue. Notifications are of no interest to the reports, yet bound here:
the relay publishes with `mandatory`, so an event no queue takes would be refused as a
deployment mistake; stats is the consumer of record of `notification.#`."""

from shared.contracts import events as ev
from shared.contracts.envelope import EventData, registry
from shared.messaging import Batched
from shared.runtime import Handler, ignore
from stats.services import projection
from stats.services.context import Context

# One object for every dossier event type, so that a run may mix them (and dossiers).
DOSSIER_EVENTS = Batched(projection.apply_dossier_events)

HANDLERS: dict[type[EventData], Handler[Context]] = {
    **{model: DOSSIER_EVENTS for model in registry.values() if issubclass(model, ev.DossierEvent)},
    ev.FeedbackSubmitted: projection.apply_feedback,
    ev.CataloguePublished: projection.apply_catalogue,
    ev.NotificationSent: ignore,
    ev.NotificationFailed: ignore,
}
