"""Officers administered through the API: one or more roles each, a temporary password
to change at first sign-in, a session version that ends older sessions, and the audit
of every change to an officer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "cardinality(roles) > 0 AND roles <@ ARRAY['receiver', 'processor', 'approver', 'admin']"


def upgrade() -> None:
    op.add_column("officers", sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=True))
    op.execute("UPDATE officers SET roles = ARRAY[role]")
    op.alter_column("officers", "roles", nullable=False)
    op.drop_index("ix_officers_agency_role", table_name="officers")
    op.drop_constraint("ck_officers_role", "officers", type_="check")
    op.drop_column("officers", "role")
    op.create_check_constraint(op.f("ck_officers_roles"), "officers", ROLES)
    op.add_column(
        "officers",
        sa.Column(
            "must_change_password", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column(
        "officers",
        sa.Column("session_version", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "officers",
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
    )  # fmt: skip
    op.create_index(
        "ix_officers_agency_username", "officers", ["agency_code", "username"], unique=False
    )
    op.create_table(
        "officer_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("actor_agency", sa.Text(), nullable=True),
        sa.Column("officer_id", sa.UUID(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("agency_code", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name=op.f("fk_officer_changes_officer_id_officers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officer_changes")),
    )
    op.create_index(
        "ix_officer_changes_officer", "officer_changes", ["officer_id", "id"], unique=False
    )
    op.create_index(
        "ix_officer_changes_agency", "officer_changes", ["agency_code", "id"], unique=False
    )
    op.execute(
        """CREATE TRIGGER officer_changes_append_only BEFORE UPDATE OR DELETE ON officer_changes
        FOR EACH ROW EXECUTE FUNCTION history_is_append_only()"""
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER officer_changes_append_only ON officer_changes")
    op.drop_index("ix_officer_changes_agency", table_name="officer_changes")
    op.drop_index("ix_officer_changes_officer", table_name="officer_changes")
    op.drop_table("officer_changes")
    op.drop_index("ix_officers_agency_username", table_name="officers")
    op.drop_column("officers", "updated_at")
    op.drop_column("officers", "session_version")
    op.drop_column("officers", "must_change_password")
    op.drop_constraint(op.f("ck_officers_roles"), "officers", type_="check")
    op.add_column("officers", sa.Column("role", sa.Text(), nullable=True))
    op.execute("UPDATE officers SET role = roles[1]")
    op.alter_column("officers", "role", nullable=False)
    op.drop_column("officers", "roles")
    op.create_check_constraint(
        op.f("ck_officers_role"), "officers", "role IN ('receiver', 'processor', 'approver', 'admin')"
    )
    op.create_index("ix_officers_agency_role", "officers", ["agency_code", "role"], unique=False)
