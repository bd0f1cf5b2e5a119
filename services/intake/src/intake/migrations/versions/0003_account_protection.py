"""One-time codes per ID number (stand-ins for numbers without an account), wrong
passwords per address and in all, in place of the account's own counter.

Codes live five minutes and their key changes: the ones in flight are dropped (the
citizen asks for a new one). Counters of wrong passwords start again from zero.

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
    op.execute("DELETE FROM one_time_codes")
    op.drop_constraint("pk_one_time_codes", "one_time_codes", type_="primary")
    op.add_column("one_time_codes", sa.Column("subject", sa.Text(), nullable=False))
    op.alter_column("one_time_codes", "account_id", nullable=True)
    op.create_primary_key("pk_one_time_codes", "one_time_codes", ["subject", "purpose"])

    op.create_table(
        "login_failures",
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("subject", "source", name=op.f("pk_login_failures")),
    )  # fmt: skip
    op.drop_column("accounts", "failed_logins")
    op.drop_column("accounts", "locked_until")


def downgrade() -> None:
    op.add_column("accounts", sa.Column("locked_until", sa.DateTime(timezone=True)))
    op.add_column(
        "accounts",
        sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.drop_table("login_failures")
    op.execute("DELETE FROM one_time_codes")
    op.drop_constraint("pk_one_time_codes", "one_time_codes", type_="primary")
    op.alter_column("one_time_codes", "account_id", nullable=False)
    op.drop_column("one_time_codes", "subject")
    op.create_primary_key("pk_one_time_codes", "one_time_codes", ["account_id", "purpose"])
