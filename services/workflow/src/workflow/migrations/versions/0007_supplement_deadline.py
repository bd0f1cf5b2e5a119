"""The citizen's supplement deadline: days per procedure and per case, and its reminder.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("procedures", sa.Column("supplement_days", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("supplement_days", sa.Integer(), nullable=True))
    op.drop_constraint("ck_timers_kind", "timers", type_="check")
    op.create_check_constraint(
        "ck_timers_kind", "timers", "kind IN ('due_soon', 'overdue', 'supplement_due_soon')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM timers WHERE kind = 'supplement_due_soon'")
    op.drop_constraint("ck_timers_kind", "timers", type_="check")
    op.create_check_constraint("ck_timers_kind", "timers", "kind IN ('due_soon', 'overdue')")
    op.drop_column("cases", "supplement_days")
    op.drop_column("procedures", "supplement_days")
