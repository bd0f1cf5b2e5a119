"""What workflow's use cases need, built once per process by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from shared.db.idempotency import IdempotencyKeys
from shared.db.limits import RateLimits
from shared.db.lockout import SignInLockout
from shared.runtime import Resources
from shared.security import TokenIssuer, TokenVerifier
from shared.security.sessions import SessionVersions
from shared.storage import ATTACHMENTS_BUCKET
from workflow.config import WorkflowSettings

RESULTS_BUCKET = "dossier-results"
__all__ = ["ATTACHMENTS_BUCKET", "RESULTS_BUCKET", "Context"]


@dataclass(frozen=True)
class Context(Resources[WorkflowSettings]):
    tokens: TokenIssuer
    verifier: TokenVerifier
    # Retried actions (`Idempotency-Key`) get their first answer again.
    idempotency: IdempotencyKeys
    # Sign-in attempts counted per address and per username.
    limits: RateLimits
    # Wrong passwords, per username and address and in all (shared/db/lockout.py).
    lockout: SignInLockout
    # Each officer's session version: a token of an older one is refused.
    sessions: SessionVersions
