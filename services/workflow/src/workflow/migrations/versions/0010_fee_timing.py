"""Fees: when each procedure's fee is paid (online before submission, or at the desk with
the result), and the fee paid on each case, without which an approved dossier waits in
`awaiting_fee`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMING = "fee_timing IN ('before_submission', 'on_result')"


def upgrade() -> None:
    for table in ("procedures", "cases"):
        op.add_column(
            table,
            sa.Column("fee_timing", sa.Text(), server_default=sa.text("'on_result'"),
                      nullable=False),
        )  # fmt: skip
        op.create_check_constraint(f"ck_{table}_fee_timing", table, TIMING)
    op.add_column("cases", sa.Column("fee_paid_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("fee_receipt_no", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "fee_receipt_no")
    op.drop_column("cases", "fee_paid_at")
    for table in ("cases", "procedures"):
        op.drop_constraint(f"ck_{table}_fee_timing", table, type_="check")
        op.drop_column(table, "fee_timing")
