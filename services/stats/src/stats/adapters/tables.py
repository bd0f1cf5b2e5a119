"""stats's own tables (the outbox and inbox come from shared.messaging.tables)."""

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.db import new_metadata

metadata = new_metadata()


def _at(name: str) -> Column[object]:
    return Column(name, DateTime(timezone=True))


# Learned from intake's catalogue and from the events' own names.
agencies = Table(
    "agencies",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", Text),
    Column("parent_code", Text),
)

procedures = Table(
    "procedures",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("field", Text, nullable=False),
)

# What is known of each dossier, merged so that any order of events gives the same row.
facts = Table(
    "facts",
    metadata,
    Column("code", Text, primary_key=True),
    Column("agency_code", Text, nullable=False),
    Column("procedure_code", Text, nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    _at("received_at"),
    Column("online", Boolean, nullable=False, server_default=text("true")),
    # The due date reports judge by, from the workflow event with the highest sequence.
    _at("due_at"),
    Column("due_sequence", Integer, nullable=False, server_default=text("0")),
    _at("resolved_at"),
    Column("judgement", Text),
    Column("processing_hours", Float),
    Column("e_result", Boolean, nullable=False, server_default=text("false")),
    Column("digitised", Boolean, nullable=False, server_default=text("false")),
    _at("rejected_at"),
    _at("withdrawn_at"),
    _at("returned_at"),
    # The citizen's supplement deadline passed and the receiver stopped the processing.
    _at("stopped_at"),
    Column("fee_vnd", Integer, nullable=False, server_default=text("0")),
    Column("fee_timing", Text, nullable=False, server_default=text("'on_result'")),
    # When workflow put the approved dossier to wait for its fee paid at the desk.
    _at("fee_wait_from"),
    Column("paid_online", Boolean, nullable=False, server_default=text("false")),
    # The national portal's records of the dossier: the highest written, the highest
    # accepted (Decision 766's synchronisation rate).
    Column("national_queued", Integer, nullable=False, server_default=text("0")),
    Column("national_synced", Integer, nullable=False, server_default=text("0")),
    # Until then a dossier with a fee waits for it (the report's `awaiting_fee`).
    _at("paid_at"),
    # Personal: shown masked on the public list, never in metrics or logs.
    Column("applicant_name", Text),
    # The counters this dossier currently adds to: [[metric, "YYYY-MM-DD", value], ...].
    Column("contribution", JSONB, nullable=False, server_default=text("'[]'")),
    Index("ix_facts_awaiting_pickup", "agency_code", "resolved_at",
          postgresql_where=text("resolved_at IS NOT NULL AND returned_at IS NULL "
                                "AND withdrawn_at IS NULL")),
)  # fmt: skip

pauses = Table(
    "pauses",
    metadata,
    Column("code", Text, nullable=False),
    Column("round", SmallInteger, nullable=False),
    _at("requested_at"),
    _at("resumed_at"),
    PrimaryKeyConstraint("code", "round"),
)

# Per agency and procedure ('' = all procedures), per day, month ('m') and year ('y').
counts = Table(
    "counts",
    metadata,
    Column("agency_code", Text, nullable=False),
    Column("procedure_code", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("start", Date, nullable=False),
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("agency_code", "procedure_code", "metric", "unit", "start"),
    Index("ix_counts_period", "procedure_code", "unit", "start"),
)

# Every event applied, for rebuilding the projections from scratch (`python -m stats.rebuild`):
# redacted, with only the applicant's name kept beside it for the public list.
archive = Table(
    "archive",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("type", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("applicant_name", Text),
    Index("ix_archive_occurred", "occurred_at"),
)
