"""The outbox and inbox tables, the same in every service's own database.

They live on their own MetaData (added to each service's Alembic `target_metadata`),
and each service's first migration creates them with `create_messaging_tables()`.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.db.base import new_metadata

metadata = new_metadata()

outbox = Table(
    "outbox",
    metadata,
    # The id orders rows for publishing but is never used as a high-water mark: ids are
    # taken at insert and transactions commit in any order, so the relay always looks at
    # every unpublished row, and a row that commits late is still published.
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("event_type", Text, nullable=False),
    Column("dossier_code", Text),
    Column("envelope", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Index("ix_outbox_pending", "id", postgresql_where=text("published_at IS NULL")),
)

inbox = Table(
    "inbox",
    metadata,
    # One row per event applied; inserted in the transaction of the handler's effect.
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def create_messaging_tables() -> None:
    """Alembic `upgrade` step of each service's first migration: messaging schema v1.

    Spelled out rather than derived from the tables above, so that it keeps creating
    v1 after they change; a change comes as a new step beside this one.
    """
    op.create_table(
        "outbox",
        Column("id", BigInteger, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("event_type", Text, nullable=False),
        Column("dossier_code", Text),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        PrimaryKeyConstraint("id", name="pk_outbox"),
        UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index(
        "ix_outbox_pending", "outbox", ["id"], postgresql_where=text("published_at IS NULL")
    )
    op.create_table(
        "inbox",
        Column("event_id", UUID(as_uuid=True)),
        Column("event_type", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("event_id", name="pk_inbox"),
    )


def drop_messaging_tables() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")
