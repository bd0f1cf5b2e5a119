"""What intake's use cases need, built once in bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from intake.config import IntakeSettings
from shared.db import Database
from shared.messaging import Outbox
from shared.security import TokenIssuer, TokenVerifier
from shared.storage import ObjectStore

ATTACHMENTS_BUCKET = "dossier-attachments"


@dataclass(frozen=True)
class Context:
    settings: IntakeSettings
    db: Database
    outbox: Outbox
    store: ObjectStore
    tokens: TokenIssuer
    verifier: TokenVerifier
