"""The composition root of workflow: every dependency is chosen here, once."""

from pathlib import Path

from shared.runtime import ServiceDefinition
from workflow.api import router
from workflow.config import WorkflowSettings
from workflow.consumers import HANDLERS


def build(settings: WorkflowSettings | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="workflow",
        settings=settings or WorkflowSettings(),
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        handlers=HANDLERS,
        buckets=("dossier-results",),
    )
