"""Sign-in with the national identity: attempts in flight, linked identities, link
tickets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_attempts",
        sa.Column("state_digest", sa.Text(), nullable=False),
        sa.Column("browser_digest", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=False),
        sa.Column("portal_redirect", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_digest", name=op.f("pk_oidc_attempts")),
    )
    op.create_index("ix_oidc_attempts_expires_at", "oidc_attempts", ["expires_at"])
    op.create_table(
        "oidc_links",
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column(
            "linked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_oidc_links_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_oidc_links")),
    )  # fmt: skip
    op.create_index(
        "uq_oidc_links_issuer_subject", "oidc_links", ["issuer", "subject"], unique=True
    )
    op.create_table(
        "oidc_link_tickets",
        sa.Column("ticket_digest", sa.Text(), nullable=False),
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_oidc_link_tickets_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("ticket_digest", name=op.f("pk_oidc_link_tickets")),
    )


def downgrade() -> None:
    op.drop_table("oidc_link_tickets")
    op.drop_index("uq_oidc_links_issuer_subject", table_name="oidc_links")
    op.drop_table("oidc_links")
    op.drop_index("ix_oidc_attempts_expires_at", table_name="oidc_attempts")
    op.drop_table("oidc_attempts")
