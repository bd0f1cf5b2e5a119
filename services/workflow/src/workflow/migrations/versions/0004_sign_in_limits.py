"""Officers' sign-in limits: attempts per address and username, failures per officer and
address.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_rate_limits")),
    )
    op.create_table(
        "login_failures",
        sa.Column("officer_id", sa.UUID(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name=op.f("fk_login_failures_officer_id_officers")
        ),
        sa.PrimaryKeyConstraint("officer_id", "address", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_updated", "login_failures", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_failures_updated", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_table("rate_limits")
