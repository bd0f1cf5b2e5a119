"""The statuses of accounts and dossiers, and the dossier statuses each of the citizen's
actions is allowed from (API.md: the dossier statuses are the same in every service)."""

from __future__ import annotations

from enum import StrEnum

from shared.contracts.events import DossierStatus


class AccountStatus(StrEnum):
    PENDING = "pending_verification"
    ACTIVE = "active"


DRAFT = frozenset({DossierStatus.DRAFT})
AWAITING_SUPPLEMENT = frozenset({DossierStatus.SUPPLEMENT_REQUESTED})
# Submitted and not yet decided: the citizen may still withdraw.
OPEN = frozenset(
    {
        DossierStatus.SUBMITTED,
        DossierStatus.RECEIVED,
        DossierStatus.SUPPLEMENT_REQUESTED,
        DossierStatus.IN_PROGRESS,
        DossierStatus.PENDING_APPROVAL,
    }
)
# The result exists: the citizen may rate the service and fetch the electronic result.
RESOLVED = frozenset({DossierStatus.RESULT_READY, DossierStatus.RETURNED})
# Decided, the result handed over once its fee is paid at the desk: too late to withdraw,
# too early to fetch the result or rate the service.
AWAITING_FEE = frozenset({DossierStatus.AWAITING_FEE})
