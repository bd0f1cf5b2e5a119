"""The composition root of stats: every dependency is chosen here, once."""

from pathlib import Path

from shared.runtime import ServiceDefinition
from stats.api import router
from stats.config import StatsSettings
from stats.consumers import HANDLERS
from stats.services.context import Context
from stats.services.gauges import gauges_worker
from stats.services.projection import MAINTENANCE_LOCK


def build(settings: StatsSettings | None = None) -> ServiceDefinition[Context]:
    settings = settings or StatsSettings()
    return ServiceDefinition(
        name="stats",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        handlers=HANDLERS,
        workers=[gauges_worker],
        # `python -m stats.rebuild` rewrites the projections: never while one consumes.
        maintenance_lock=MAINTENANCE_LOCK,
    )
