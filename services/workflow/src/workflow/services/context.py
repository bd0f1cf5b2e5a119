"""What workflow's use cases need, built once in bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from shared.db import Database
from shared.messaging import Outbox
from shared.security import TokenIssuer, TokenVerifier
from shared.storage import ObjectStore
from workflow.config import WorkflowSettings

RESULTS_BUCKET = "dossier-results"


@dataclass(frozen=True)
class Context:
    settings: WorkflowSettings
    db: Database
    outbox: Outbox
    store: ObjectStore
    tokens: TokenIssuer
    verifier: TokenVerifier
