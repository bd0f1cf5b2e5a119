"""workflow's own tables (the outbox and inbox come from shared.messaging.tables)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from shared.db import new_metadata
from shared.db.idempotency import idempotency_table
from shared.db.limits import rate_limits_table
from shared.db.lockout import login_failures_table

metadata = new_metadata()

# Officers' retried actions (`Idempotency-Key`) answered from here.
idempotency_keys = idempotency_table(metadata)
# Sign-in attempts per address and per username (shared/db/limits.py).
rate_limits = rate_limits_table(metadata)


def _at(name: str, *, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


# --- reference data, learned from intake's `catalogue.published` -------------------------

agencies = Table(
    "agencies",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("parent_code", Text),
    # [["07:00", "11:30"], ["13:30", "17:00"]]; null: the default office hours.
    Column("office_hours", JSONB),
)

procedures = Table(
    "procedures",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("online_level", Text, nullable=False),
    Column("processing_days", Integer, nullable=False),
    Column("cutoff_time", Text, nullable=False),
    Column("fee_vnd", BigInteger, nullable=False),
    # When the fee is paid: online before submission, or at the desk with the result.
    Column("fee_timing", Text, nullable=False, server_default=text("'on_result'")),
    Column("documents", JSONB, nullable=False),
    # Working days the citizen has to supplement; null: the rules' default.
    Column("supplement_days", Integer),
    CheckConstraint("fee_timing IN ('before_submission', 'on_result')", name="fee_timing"),
)

# One row per year: the calendar an administrator entered from the official notice.
calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("data", JSONB, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("updated_by", Text, nullable=False),
    _at("updated_at", nullable=False),
)

# Every accepted edit of a year: who, when, what changed, and whether the administrator
# confirmed a change to days already past or to announced due dates.
calendar_edits = Table(
    "calendar_edits",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("officer", Text, nullable=False),
    _at("at", nullable=False),
    Column("source", Text, nullable=False),
    Column("confirmed", Boolean, nullable=False),
    # [{change: removed|added, day, kind, name, half, agency_code}]
    Column("changes", JSONB, nullable=False),
    # ISO dates: the changed days already begun, and those on announced due dates.
    Column("past_days", JSONB, nullable=False),
    Column("announced_days", JSONB, nullable=False),
    Index("ix_calendar_edits_year", "year", "id"),
)

# --- officers ---------------------------------------------------------------------------

officers = Table(
    "officers",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("username", Text, nullable=False, unique=True),
    Column("full_name", Text, nullable=False),
    # One or more of receiver, processor, approver, admin (domain/staff.py's order).
    Column("roles", ARRAY(Text), nullable=False),
    Column("agency_code", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("phone", Text),
    Column("email", Text),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    # A temporary password (a new officer, an admin's reset): until it is changed, the
    # officer's token opens nothing but `POST /auth/password`.
    Column("must_change_password", Boolean, nullable=False, server_default=text("false")),
    # Carried by every token; raised by a password change or reset, a deactivation or new
    # roles, which ends every session opened before.
    Column("session_version", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "cardinality(roles) > 0 AND roles <@ ARRAY['receiver', 'processor', 'approver', 'admin']",
        name="roles",
    ),
    Index("ix_officers_agency_username", "agency_code", "username"),
)

# Every change to an officer (created, edited, deactivated, password reset or changed):
# who, when, what; never a password. Append-only (a trigger refuses updates).
officer_changes = Table(
    "officer_changes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    _at("at", nullable=False),
    # None: the installation's command line (the first admin).
    Column("actor_id", UUID(as_uuid=True)),
    Column("actor_name", Text, nullable=False),
    Column("actor_agency", Text),
    Column("officer_id", UUID(as_uuid=True), ForeignKey("officers.id"), nullable=False),
    Column("username", Text, nullable=False),
    Column("agency_code", Text, nullable=False),
    Column("action", Text, nullable=False),
    # The fields changed, {field: [before, after]}; for a password only that it changed.
    Column("changes", JSONB, nullable=False),
    Index("ix_officer_changes_officer", "officer_id", "id"),
    Index("ix_officer_changes_agency", "agency_code", "id"),
)

# Wrong passwords per username typed and address, and in all (shared/db/lockout.py).
login_failures = login_failures_table(metadata)

# --- cases: the dossier as the officers handle it ---------------------------------------

cases = Table(
    "cases",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),  # intake's dossier id
    Column("code", Text, nullable=False, unique=True),
    Column("status", Text, nullable=False),
    Column("agency_code", Text, nullable=False),
    Column("agency_name", Text, nullable=False),
    Column("procedure_code", Text, nullable=False),
    Column("procedure_name", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("online_level", Text, nullable=False),
    Column("processing_days", Integer, nullable=False),
    Column("cutoff_time", Text, nullable=False),
    Column("fee_vnd", BigInteger, nullable=False),
    Column("fee_timing", Text, nullable=False, server_default=text("'on_result'")),
    # The fee paid (online before submission, or recorded at the desk): an approved
    # dossier without it waits in `awaiting_fee`.
    _at("fee_paid_at"),
    Column("fee_receipt_no", Text),
    # The procedure's supplement deadline in working days when submitted; null: the
    # catalogue's, else the rules' default.
    Column("supplement_days", Integer),
    # Personal data: shown to the agency's officers only, never logged.
    Column("applicant", JSONB, nullable=False),
    Column("applicant_name", Text, nullable=False),
    Column("form", JSONB, nullable=False),
    Column("attachments", JSONB, nullable=False),
    Column("result_delivery", JSONB, nullable=False),
    Column("recipient", JSONB, nullable=False),
    # How the dossier came: online through intake, or on paper at the desk (in_person)
    # or by post, registered by a receiver (KenhThucHien 2, 1, 3).
    Column("channel", Text, nullable=False, server_default=text("'online'")),
    _at("submitted_at", nullable=False),
    _at("received_at"),
    _at("counted_from"),
    Column("received_by", Text),
    Column("rule_set", Text),
    _at("due_at"),
    # The work list's order: the due date once there is one; before receipt, the
    # submission time (the desk takes the oldest first).
    _at("priority_at", nullable=False),
    # The due date first announced; reports judge against it even after an apology.
    _at("original_due_at"),
    _at("extended_at"),
    # Grows with every change of due date, so a timer fires once per version.
    Column("deadline_version", Integer, nullable=False, server_default=text("0")),
    # The status to return to when the citizen supplements.
    Column("resume_status", Text),
    Column("supplement_rounds", SmallInteger, nullable=False, server_default=text("0")),
    Column("assignee_id", UUID(as_uuid=True)),
    Column("assignee_name", Text),
    Column("result_summary", Text),
    Column("result_file", JSONB),
    _at("resolved_at"),
    Column("judgement", Text),
    # The sequence of the last event emitted about this dossier (Envelope.sequence).
    Column("sequence", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _at("updated_at", nullable=False),
    # The work list: an agency's dossiers (by status, assignee, procedure) in due order.
    Index("ix_cases_worklist", "agency_code", "status", "priority_at", "code"),
    Index("ix_cases_agency_priority", "agency_code", "priority_at", "code"),
    Index("ix_cases_assignee", "assignee_id", "priority_at", "code"),
    Index("ix_cases_procedure", "agency_code", "procedure_code", "priority_at", "code"),
    Index(
        "ix_cases_applicant_trgm",
        text("lower(applicant_name) gin_trgm_ops"),
        postgresql_using="gin",
    ),
    CheckConstraint("fee_timing IN ('before_submission', 'on_result')", name="fee_timing"),
)

# Per agency and day, the last desk number given (shared/contracts/codes.py: the desk's
# own range, so its codes never meet intake's).
desk_sequences = Table(
    "desk_sequences",
    metadata,
    Column("agency_code", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("last", Integer, nullable=False),
    PrimaryKeyConstraint("agency_code", "day"),
)

# Each supplement round: the clock stops at `paused_at` and resumes at `resumed_at`.
pauses = Table(
    "pauses",
    metadata,
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("round", SmallInteger, nullable=False),
    Column("items", JSONB, nullable=False),
    Column("note", Text),
    _at("paused_at", nullable=False),
    _at("supplement_due_at"),
    _at("resumed_at"),
    # Whether the processing clock was running when the dossier paused (not before receipt).
    Column("clock_was_running", Boolean, nullable=False),
    Column("paused_seconds", BigInteger),
    PrimaryKeyConstraint("case_id", "round"),
)

# The audit trail: appended by every action, never updated or deleted (a trigger refuses).
history = Table(
    "history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    _at("at", nullable=False),
    Column("actor_kind", Text, nullable=False),
    Column("actor_id", Text),
    Column("actor_name", Text),
    Column("actor_role", Text),
    Column("action", Text, nullable=False),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("note", Text),
    Index("ix_history_case", "case_id", "id"),
)

# Due-soon and overdue announcements, one row per dossier, kind and deadline version; and
# the citizen's reminder one working day before the supplement deadline, one per round
# (its `deadline_version` is the supplement round).
timers = Table(
    "timers",
    metadata,
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("deadline_version", Integer, nullable=False),
    _at("fire_at", nullable=False),
    _at("fired_at"),
    PrimaryKeyConstraint("case_id", "kind", "deadline_version"),
    CheckConstraint("kind IN ('due_soon', 'overdue', 'supplement_due_soon')", name="kind"),
    Index("ix_timers_pending", "fire_at", postgresql_where=text("fired_at IS NULL")),
)

# --- synchronisation with the National Public Service Portal ----------------------------

# The records to send, one per change of the dossier's national status, written in the
# transaction of the change (services/sync.py) and sent in `sequence` order per dossier.
# `record` holds the applicant's ID number (SoGiayToChuHoSo): never logged.
national_sync = Table(
    "national_sync",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("dossier_code", Text, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("record", JSONB, nullable=False),
    _at("created_at", nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _at("next_attempt_at", nullable=False),
    _at("last_attempt_at"),
    # Why the last attempt failed (status, timeout): no record content.
    Column("last_error", Text),
    _at("sent_at"),
    Index("ux_national_sync_case_sequence", "case_id", "sequence", unique=True),
    Index("ix_national_sync_due", "next_attempt_at", postgresql_where=text("sent_at IS NULL")),
)
