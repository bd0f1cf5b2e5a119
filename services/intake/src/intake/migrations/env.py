from intake.adapters.tables import metadata
from intake.config import IntakeSettings
from shared.db.migrations import run_migrations

run_migrations(metadata, IntakeSettings().database_url)
