"""Deliveries name their dossier's agency; the agency tree from the catalogue.

Deliveries made before this take the agency from their dossier code (its first part is
the agency's e-ID, `G01.306.000.000-261123-0001`); those of no dossier, or of a code of
another shape, stay without one and are read only by the admins who run notify.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("agency_code", sa.Text(), nullable=True))
    op.execute(
        "UPDATE deliveries SET agency_code = substring("
        r"dossier_code from '^([A-Z][0-9]{2}(?:\.[0-9]{3})*)-[0-9]{6}-[0-9]{4,}$')"
        " WHERE dossier_code IS NOT NULL"
    )
    op.create_index(
        "ix_deliveries_agency_created", "deliveries", ["agency_code", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "agencies",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
    )
    op.create_index("ix_agencies_parent", "agencies", ["parent_code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_agencies_parent", table_name="agencies")
    op.drop_table("agencies")
    op.drop_index("ix_deliveries_agency_created", table_name="deliveries")
    op.drop_column("deliveries", "agency_code")
