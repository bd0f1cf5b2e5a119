"""Dossiers registered at workflow's one-stop desk: no owner account, and the channel
each dossier came by.

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


def upgrade() -> None:
    op.alter_column("dossiers", "owner_id", existing_type=sa.UUID(), nullable=True)
    op.add_column(
        "dossiers",
        sa.Column("channel", sa.Text(), server_default=sa.text("'online'"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("dossiers", "channel")
    # The desk's dossiers have no owner: they cannot stay once an owner is required.
    op.execute(
        "DELETE FROM timeline WHERE dossier_id IN (SELECT id FROM dossiers WHERE owner_id IS NULL)"
    )
    op.execute(
        "DELETE FROM attachments WHERE dossier_id IN"
        " (SELECT id FROM dossiers WHERE owner_id IS NULL)"
    )
    op.execute(
        "DELETE FROM feedback WHERE dossier_id IN (SELECT id FROM dossiers WHERE owner_id IS NULL)"
    )
    op.execute("DELETE FROM dossiers WHERE owner_id IS NULL")
    op.alter_column("dossiers", "owner_id", existing_type=sa.UUID(), nullable=False)
