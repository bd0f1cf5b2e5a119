"""The composition root of notify: every dependency is chosen here, once."""

from pathlib import Path

from notify.api import router
from notify.config import NotifySettings
from notify.consumers import HANDLERS
from shared.runtime import ServiceDefinition


def build(settings: NotifySettings | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="notify",
        settings=settings or NotifySettings(),
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        handlers=HANDLERS,
        buckets=(),
    )
