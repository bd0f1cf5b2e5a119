"""Wrong passwords counted by the lockout common to citizens and officers
(shared/db/lockout.py): per username typed and address, and in all; the counts start
again from zero.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _failures(*key: sa.Column[object]) -> None:
    op.create_table(
        "login_failures",
        *key,
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*(c.name for c in key), name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_updated", "login_failures", ["updated_at"], unique=False)


def upgrade() -> None:
    op.drop_index("ix_login_failures_updated", table_name="login_failures")
    op.drop_table("login_failures")
    _failures(
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_login_failures_updated", table_name="login_failures")
    op.drop_table("login_failures")
    _failures(
        sa.Column("officer_id", sa.UUID(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
    )
    op.create_foreign_key(
        op.f("fk_login_failures_officer_id_officers"),
        "login_failures", "officers", ["officer_id"], ["id"],
    )  # fmt: skip
