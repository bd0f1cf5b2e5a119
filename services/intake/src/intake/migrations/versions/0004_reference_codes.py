"""The catalogue says which codes are official: a procedure's code national (MaTTHC) or
local, an agency's e-ID official or a demo stand-in. Rows loaded before are marked local
and demo until the next start reloads the data files.

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
    op.add_column(
        "procedures",
        sa.Column("code_scope", sa.Text(), server_default=sa.text("'local'"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_procedures_code_scope"), "procedures", "code_scope IN ('national', 'local')"
    )
    op.add_column(
        "agencies",
        sa.Column("code_status", sa.Text(), server_default=sa.text("'demo'"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_agencies_code_status"), "agencies", "code_status IN ('official', 'demo')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_agencies_code_status"), "agencies", type_="check")
    op.drop_column("agencies", "code_status")
    op.drop_constraint(op.f("ck_procedures_code_scope"), "procedures", type_="check")
    op.drop_column("procedures", "code_scope")
