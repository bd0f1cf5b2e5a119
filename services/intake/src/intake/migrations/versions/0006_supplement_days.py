"""The citizen's supplement deadline per procedure (ThoiHanBoSung), in working days.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("procedures", sa.Column("supplement_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("procedures", "supplement_days")
