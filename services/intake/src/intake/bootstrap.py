"""The composition root of intake: every dependency is chosen here, once."""

from pathlib import Path

from intake.api import router
from intake.config import IntakeSettings
from intake.consumers import HANDLERS
from shared.runtime import ServiceDefinition


def build(settings: IntakeSettings | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="intake",
        settings=settings or IntakeSettings(),
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        handlers=HANDLERS,
        buckets=("dossier-attachments",),
    )
