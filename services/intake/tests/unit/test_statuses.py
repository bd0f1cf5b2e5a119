"""Which dossier statuses each of the citizen's actions is allowed from."""

from __future__ import annotations

from intake.domain import statuses
from shared.contracts.events import DossierStatus

ENDED_WITHOUT_RESULT = {DossierStatus.REJECTED, DossierStatus.WITHDRAWN, DossierStatus.STOPPED}


def test_every_status_is_a_draft_open_resolved_or_ended_and_only_one() -> None:
    groups = [
        statuses.DRAFT, statuses.OPEN, statuses.AWAITING_FEE, statuses.RESOLVED,
        ENDED_WITHOUT_RESULT,
    ]  # fmt: skip
    assert sum(len(g) for g in groups) == len(DossierStatus)
    assert set().union(*groups) == set(DossierStatus)


def test_a_supplement_is_awaited_only_while_the_dossier_is_open() -> None:
    assert statuses.AWAITING_SUPPLEMENT < statuses.OPEN


def test_statuses_read_from_the_database_match_the_sets() -> None:
    assert "pending_approval" in statuses.OPEN
    assert "returned" in statuses.RESOLVED
    assert "withdrawn" not in statuses.OPEN | statuses.RESOLVED
