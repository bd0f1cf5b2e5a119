"""Handlers of the events workflow consumes, keyed by event model."""

from shared.contracts import events as ev
from shared.messaging import Handler, Outbox
from workflow.services import inbound


def handlers(outbox: Outbox) -> dict[type, Handler]:
    return {
        ev.CataloguePublished: inbound.catalogue_published,
        ev.DossierSubmitted: inbound.dossier_submitted(outbox),
        ev.DossierSupplemented: inbound.dossier_supplemented(outbox),
        ev.DossierWithdrawn: inbound.dossier_withdrawn(outbox),
        ev.PaymentCompleted: inbound.payment_completed,
    }
