"""What intake's use cases need, built once per process by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from intake.config import IntakeSettings
from shared.db.idempotency import IdempotencyKeys
from shared.runtime import Resources
from shared.security import TokenIssuer, TokenVerifier

ATTACHMENTS_BUCKET = "dossier-attachments"


@dataclass(frozen=True)
class Context(Resources[IntakeSettings]):
    tokens: TokenIssuer
    verifier: TokenVerifier
    # Retried requests (`Idempotency-Key`) get their first answer again.
    idempotency: IdempotencyKeys
