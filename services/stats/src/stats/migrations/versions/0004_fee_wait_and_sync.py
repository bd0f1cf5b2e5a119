"""facts: when the fee is paid and since when it is waited for; the national portal's
records written and accepted (Decision 766's synchronisation rate)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:00:00.000000

Dossiers already projected gain them when their next event arrives, or at once by
rebuilding the projections: `python -m stats.rebuild`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('facts', sa.Column('fee_timing', sa.Text(),
                                     server_default=sa.text("'on_result'"), nullable=False))
    op.add_column('facts', sa.Column('fee_wait_from', sa.DateTime(timezone=True), nullable=True))
    for name in ('national_queued', 'national_synced'):
        op.add_column('facts', sa.Column(name, sa.Integer(), server_default=sa.text('0'),
                                         nullable=False))


def downgrade() -> None:
    for name in ('national_synced', 'national_queued', 'fee_wait_from', 'fee_timing'):
        op.drop_column('facts', name)
