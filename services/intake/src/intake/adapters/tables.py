"""intake's own tables (the outbox and inbox come from shared.messaging.tables)."""

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
    Sequence,
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


def _created() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


# --- catalogue (loaded from catalogue_data/*.json by `python -m intake load-catalogue`) ---

agencies = Table(
    "agencies",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("parent_code", Text, ForeignKey("agencies.code")),
    Column("province", Text, nullable=False),
    # Lower-case, diacritics removed: "cong an xa thuong giao".
    Column("search_text", Text, nullable=False),
    # 'official': the unit's e-ID (Decision 20/2020/QĐ-TTg); 'demo': a stand-in shaped like one.
    Column("code_status", Text, nullable=False, server_default=text("'demo'")),
    CheckConstraint("level IN ('province', 'district', 'commune')", name="level"),
    CheckConstraint("code_status IN ('official', 'demo')", name="code_status"),
)

procedures = Table(
    "procedures",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("online_level", Text, nullable=False),
    Column("authority_levels", ARRAY(Text), nullable=False),
    Column("applicant_kinds", ARRAY(Text), nullable=False),
    Column("processing_days", Integer, nullable=False),
    Column("fee_vnd", BigInteger, nullable=False),
    Column("cutoff_time", Text, nullable=False),
    # Working days the citizen has to supplement (ThoiHanBoSung); null: the rules' default.
    Column("supplement_days", Integer),
    Column("form_schema", JSONB, nullable=False),
    Column("documents", JSONB, nullable=False),
    Column("cases", JSONB, nullable=False),
    Column("search_text", Text, nullable=False),
    Column("catalogue_version", Text, nullable=False),
    # 'national': the MaTTHC of the national database, its source found; 'local': not found.
    Column("code_scope", Text, nullable=False, server_default=text("'local'")),
    # When the fee is paid: 'before_submission' (online, a fully online procedure with a
    # fixed fee) or 'on_result' (at the desk, when the result is collected).
    Column("fee_timing", Text, nullable=False, server_default=text("'on_result'")),
    CheckConstraint("online_level IN ('full', 'partial')", name="online_level"),
    CheckConstraint("code_scope IN ('national', 'local')", name="code_scope"),
    CheckConstraint("fee_timing IN ('before_submission', 'on_result')", name="fee_timing"),
)

# --- accounts ---------------------------------------------------------------------------

accounts = Table(
    "accounts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("id_number", Text, nullable=False, unique=True),
    Column("full_name", Text, nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("phone", Text, nullable=False),
    Column("email", Text),
    Column("password_hash", Text, nullable=False),
    Column("status", Text, nullable=False),
    # Carried by every token (`sv`); raised by a password reset or change, which ends
    # every session opened before (shared/security/sessions.py).
    Column("session_version", Integer, nullable=False, server_default=text("0")),
    # For a pending account, when its registration began: it expires from then.
    _created(),
    CheckConstraint("status IN ('pending_verification', 'active')", name="status"),
)

# One code per ID number and purpose, keyed by the number's pseudonym. `account_id` is
# the account a right code opens; without one the code is a stand-in sent to nobody,
# stored so that asking for and guessing codes behave alike with or without an account.
one_time_codes = Table(
    "one_time_codes",
    metadata,
    Column("subject", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("account_id", UUID(as_uuid=True), ForeignKey("accounts.id")),
    Column("code_hash", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _created(),
    PrimaryKeyConstraint("subject", "purpose"),
)

# Wrong passwords per ID number typed and address, and in all (shared/db/lockout.py).
login_failures = login_failures_table(metadata)

# --- dossiers ---------------------------------------------------------------------------

dossiers = Table(
    "dossiers",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("code", Text, unique=True),
    # None for a paper dossier registered at workflow's desk: its applicant may have no
    # account, and reaches it by its code (tracking) and update code (supplements).
    Column("owner_id", UUID(as_uuid=True), ForeignKey("accounts.id")),
    Column("procedure_code", Text, ForeignKey("procedures.code"), nullable=False),
    Column("agency_code", Text, ForeignKey("agencies.code"), nullable=False),
    Column("case_code", Text),
    Column("applicant", JSONB, nullable=False),
    Column("form", JSONB, nullable=False),
    Column("notify_via", ARRAY(Text), nullable=False),
    Column("result_delivery", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    # online (submitted here), in_person or post (registered at the desk).
    Column("channel", Text, nullable=False, server_default=text("'online'")),
    Column("update_code_hash", Text),
    Column("submitted_at", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True)),
    Column("due_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("supplement_request", JSONB),
    Column("result", JSONB),
    # Highest `sequence` of a workflow event applied to `status`: an older event arriving
    # late adds to the timeline but never moves the status back.
    Column("workflow_sequence", BigInteger, nullable=False, server_default=text("0")),
    # intake's own per-dossier sequence, stamped on the events it emits.
    Column("sequence", BigInteger, nullable=False, server_default=text("0")),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_dossiers_owner_created", "owner_id", "created_at"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("dossier_id", UUID(as_uuid=True), ForeignKey("dossiers.id"), nullable=False),
    Column("document_code", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("bucket", Text, nullable=False),
    Column("object_key", Text, nullable=False, unique=True),
    # 0 for files of the submission, n for the n-th supplement.
    Column("round", SmallInteger, nullable=False, server_default=text("0")),
    _created(),
    Index("ix_attachments_dossier", "dossier_id"),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("dossier_id", UUID(as_uuid=True), ForeignKey("dossiers.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("note", Text),
    Column("event_id", UUID(as_uuid=True), unique=True),
    Index("ix_timeline_dossier_at", "dossier_id", "at"),
)

# Per agency and day, the last sequence number given: the row lock of one agency-day
# orders concurrent submissions there and blocks no other agency.
code_sequences = Table(
    "code_sequences",
    metadata,
    Column("agency_code", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("last", Integer, nullable=False),
    PrimaryKeyConstraint("agency_code", "day"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("dossier_id", UUID(as_uuid=True), ForeignKey("dossiers.id"), primary_key=True),
    Column("rating", SmallInteger, nullable=False),
    Column("comment", Text),
    Column("complaint", Boolean, nullable=False, server_default=text("false")),
    _created(),
)

# --- fees paid online (services/payments.py) --------------------------------------------

# One row per attempt to pay a draft's fee; its id is the order the gateway knows
# (vnp_TxnRef). An attempt is settled once: pending -> paid or failed, by the gateway's
# verified notification; paid -> refund_due when the dossier is rejected, stopped or
# withdrawn afterwards (updated_at: when it was flagged, what the reconciliation lists).
payments = Table(
    "payments",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("dossier_id", UUID(as_uuid=True), ForeignKey("dossiers.id"), nullable=False),
    # From the catalogue version in force when the attempt began, never from the client.
    Column("amount_vnd", BigInteger, nullable=False),
    Column("catalogue_version", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    # The gateway's transaction number, bank and answer code, from the notification.
    Column("transaction_no", Text),
    Column("bank_code", Text),
    Column("response_code", Text),
    # The signature of the notification that settled it: the same one again is a replay.
    Column("settled_by", Text),
    # The electronic receipt's number (biên lai điện tử), given when paid.
    Column("receipt_no", Text, unique=True),
    Column("paid_at", DateTime(timezone=True)),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('pending', 'paid', 'failed', 'refund_due')", name="status"),
    Index("ix_payments_dossier_id", "dossier_id"),
    Index("ix_payments_created_at", "created_at"),
    # A dossier's fee is paid once: a second attempt the bank also approved is flagged
    # for refund at once (services/payments.py).
    Index(
        "uq_payments_paid_dossier",
        "dossier_id",
        unique=True,
        postgresql_where=text("status = 'paid'"),
    ),
)

# The receipts' numbers, never repeated (a gap when a settlement rolls back).
receipt_numbers = Sequence("receipt_numbers", metadata=metadata)

# --- request protection -----------------------------------------------------------------

idempotency_keys = idempotency_table(metadata)

rate_limits = rate_limits_table(metadata)

# --- sign-in with the national identity (services/oidc.py) ------------------------------

# One row per sign-in attempt, from the redirect to the provider until its callback, which
# deletes it: a state is used once. Keyed by a digest of the state, and bound to the
# browser that started it by a digest of its cookie.
oidc_attempts = Table(
    "oidc_attempts",
    metadata,
    Column("state_digest", Text, primary_key=True),
    Column("browser_digest", Text, nullable=False),
    Column("nonce", Text, nullable=False),
    Column("code_verifier", Text, nullable=False),
    # The portal page to send the browser back to; none: the callback answers JSON.
    Column("portal_redirect", Text),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_oidc_attempts_expires_at", "expires_at"),
)

# The national identity (issuer and subject) an account is known by. A created account
# gets its link at once; an existing one only once its owner has proved it (password).
oidc_links = Table(
    "oidc_links",
    metadata,
    Column("account_id", UUID(as_uuid=True), ForeignKey("accounts.id"), primary_key=True),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("uq_oidc_links_issuer_subject", "issuer", "subject", unique=True),
)

# An existing account that the national identity matched by ID number, awaiting its
# owner's password before it is linked: the ticket is short-lived and used once.
oidc_link_tickets = Table(
    "oidc_link_tickets",
    metadata,
    Column("ticket_digest", Text, primary_key=True),
    Column("account_id", UUID(as_uuid=True), ForeignKey("accounts.id"), nullable=False),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# workflow's working-day calendars as last published (`calendar.published`), one row per
# year at its newest revision; `entries` as the event carries them.
calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("entries", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
