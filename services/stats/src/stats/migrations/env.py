from shared.db.migrations import run_migrations
from stats.adapters.tables import metadata
from stats.config import StatsSettings

run_migrations(metadata, StatsSettings().database_url)
