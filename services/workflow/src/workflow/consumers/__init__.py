"""Handlers of the events workflow consumes, keyed by event model."""

from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.messaging import Batched
from shared.runtime import Handler
from workflow.services import inbound
from workflow.services.context import Context

HANDLERS: dict[type[EventData], Handler[Context]] = {
    ev.CataloguePublished: inbound.catalogue_published,
    ev.DossierSubmitted: Batched(inbound.dossiers_submitted),
    ev.DossierSupplemented: inbound.dossier_supplemented,
    ev.DossierWithdrawn: inbound.dossier_withdrawn,
    ev.PaymentCompleted: inbound.payment_completed,
}
