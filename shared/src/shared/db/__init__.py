"""Database plumbing shared by every service: naming convention, engine, unit of work."""

from shared.db.base import NAMING_CONVENTION, new_metadata
from shared.db.engine import Database

__all__ = ["NAMING_CONVENTION", "Database", "new_metadata"]
