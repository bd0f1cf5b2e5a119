from notify.adapters.tables import metadata
from notify.config import NotifySettings
from shared.db.migrations import run_migrations

run_migrations(metadata, NotifySettings().database_url)
