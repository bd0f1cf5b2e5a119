"""The composition root of stats: every dependency is chosen here, once."""

from pathlib import Path

from shared.runtime import ServiceDefinition
from stats.api import router
from stats.config import StatsSettings
from stats.consumers import HANDLERS


def build(settings: StatsSettings | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="stats",
        settings=settings or StatsSettings(),
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        handlers=HANDLERS,
        buckets=(),
    )
