"""Wrong passwords counted by the lockout common to citizens and officers
(shared/db/lockout.py): its keys are other digests, so the counts start again from zero.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM login_failures")
    op.alter_column("login_failures", "updated_at", server_default=None)
    op.create_index("ix_login_failures_updated", "login_failures", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_failures_updated", table_name="login_failures")
    op.execute("ALTER TABLE login_failures ALTER COLUMN updated_at SET DEFAULT now()")
    op.execute("DELETE FROM login_failures")
