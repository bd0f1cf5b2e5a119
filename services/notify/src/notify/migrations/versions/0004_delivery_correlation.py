"""Deliveries keep the correlation id of the event that called for them, so that the
sender's `notification.sent` / `.failed` carry it, as every event emitted because of
another does. Deliveries made before this have none.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("correlation_id", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "correlation_id")
