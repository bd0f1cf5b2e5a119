"""facts: when the processing was stopped and when the fee was paid

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:50:00.000000

The counters of dossiers already projected gain the new columns (carried over awaiting a
supplement, awaiting the fee, stopped) when their next event arrives, or at once by
rebuilding the projections: `python -m stats.rebuild`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('facts', sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('facts', sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('facts', 'paid_at')
    op.drop_column('facts', 'stopped_at')
