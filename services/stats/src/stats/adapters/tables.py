"""stats's own tables (the outbox and inbox come from shared.messaging.tables)."""

from shared.db import new_metadata

metadata = new_metadata()
