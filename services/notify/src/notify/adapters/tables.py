"""notify's own tables (the outbox and inbox come from shared.messaging.tables)."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from shared.db import new_metadata

metadata = new_metadata()


def _created() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


# Every version of every template; the highest version of a key is in force.
templates = Table(
    "templates",
    metadata,
    Column("key", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("subject", Text),
    Column("body", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    _created(),
    PrimaryKeyConstraint("key", "version"),
)

# One row per message: event × channel × recipient, whatever the redeliveries.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("dossier_code", Text),
    # The dossier's agency, from the event: who may read the delivery. Null for messages
    # of no dossier (an account's code), read only by the admins who run notify.
    Column("agency_code", Text),
    # The correlation id of the event that called for it, carried by its announcement.
    Column("correlation_id", Text),
    Column("channel", Text, nullable=False),
    # Personal data: shown masked except to administrators, never logged.
    Column("recipient", Text, nullable=False),
    Column("recipient_name", Text),
    Column("template_key", Text, nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("subject", Text),
    Column("body", Text, nullable=False),
    # What operators may read: the body, with a one-time code masked.
    Column("display_body", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # Attempts allowed in all (null: the setting); an operator's resend raises it.
    Column("attempt_limit", Integer),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("provider_reference", Text),
    _created(),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("event_id", "channel", "recipient"),
    CheckConstraint("status IN ('pending', 'sent', 'failed', 'dead')", name="status"),
    CheckConstraint("channel IN ('sms', 'email')", name="channel"),
    Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    Index("ix_deliveries_dossier", "dossier_code"),
    Index("ix_deliveries_recipient", "recipient"),
    Index("ix_deliveries_created", "created_at", "id"),
    Index("ix_deliveries_agency_created", "agency_code", "created_at", "id"),
)

# The agency tree, learned from intake's `catalogue.published`: an admin reads the
# deliveries of the agencies under theirs.
agencies = Table(
    "agencies",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("parent_code", Text),
    Index("ix_agencies_parent", "parent_code"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("delivery_id", UUID(as_uuid=True), ForeignKey("deliveries.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    PrimaryKeyConstraint("delivery_id", "attempt"),
)

# What the development SMS provider "sent": the only place an OTP can be read back.
dev_sms = Table(
    "dev_sms",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("phone", Text, nullable=False),
    Column("text", Text, nullable=False),
    _created(),
)
