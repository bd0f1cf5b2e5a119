"""Fees paid online: when each procedure's fee is paid, and the payments of drafts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "procedures",
        sa.Column("fee_timing", sa.Text(), server_default=sa.text("'on_result'"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_procedures_fee_timing"),
        "procedures",
        "fee_timing IN ('before_submission', 'on_result')",
    )
    op.create_table(
        "payments",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("dossier_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("catalogue_version", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("transaction_no", sa.Text(), nullable=True),
        sa.Column("bank_code", sa.Text(), nullable=True),
        sa.Column("response_code", sa.Text(), nullable=True),
        sa.Column("settled_by", sa.Text(), nullable=True),
        sa.Column("receipt_no", sa.Text(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'failed', 'refund_due')", name=op.f("ck_payments_status")
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"], ["dossiers.id"], name=op.f("fk_payments_dossier_id_dossiers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("receipt_no", name=op.f("uq_payments_receipt_no")),
    )
    op.create_index("ix_payments_dossier_id", "payments", ["dossier_id"])
    op.create_index("ix_payments_created_at", "payments", ["created_at"])
    op.create_index(
        "uq_payments_paid_dossier",
        "payments",
        ["dossier_id"],
        unique=True,
        postgresql_where=sa.text("status = 'paid'"),
    )
    op.execute("CREATE SEQUENCE receipt_numbers")


def downgrade() -> None:
    op.execute("DROP SEQUENCE receipt_numbers")
    op.drop_table("payments")
    op.drop_constraint(op.f("ck_procedures_fee_timing"), "procedures", type_="check")
    op.drop_column("procedures", "fee_timing")
