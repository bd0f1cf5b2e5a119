from shared.db.migrations import run_migrations
from workflow.adapters.tables import metadata
from workflow.config import WorkflowSettings

run_migrations(metadata, WorkflowSettings().database_url)
