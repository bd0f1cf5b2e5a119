"""Paper dossiers registered at the one-stop desk: the channel a case came by, and the
desk's own per-agency-day code counter.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "cases",
        sa.Column("channel", sa.Text(), server_default=sa.text("'online'"), nullable=False),
    )
    op.create_table(
        "desk_sequences",
        sa.Column("agency_code", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agency_code", "day", name=op.f("pk_desk_sequences")),
    )


def downgrade() -> None:
    op.drop_table("desk_sequences")
    op.drop_column("cases", "channel")
