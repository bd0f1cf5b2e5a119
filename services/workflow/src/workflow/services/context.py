"""What workflow's use cases need, built once per process by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from shared.security.signin import SignInResources
from shared.storage import ATTACHMENTS_BUCKET
from workflow.config import WorkflowSettings

RESULTS_BUCKET = "dossier-results"
__all__ = ["ATTACHMENTS_BUCKET", "RESULTS_BUCKET", "Context"]


@dataclass(frozen=True)
class Context(SignInResources[WorkflowSettings]):
    """The sign-in kit: its lockout counts per username, its limits the sign-in attempts
    per address and per username."""
