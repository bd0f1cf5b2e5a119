"""workflow tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 05:50:00.676847
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY = (
    """CREATE FUNCTION history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the audit trail is append-only';
    END $$""",
    """CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history
    FOR EACH ROW EXECUTE FUNCTION history_is_append_only()""",
)


def upgrade() -> None:
    # The applicant-name search of the work list uses a trigram index.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('agencies',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.Text(), nullable=False),
    sa.Column('parent_code', sa.Text(), nullable=True),
    sa.Column('office_hours', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agencies'))
    )
    op.create_table('calendar_years',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_years'))
    )
    op.create_table('cases',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('agency_code', sa.Text(), nullable=False),
    sa.Column('agency_name', sa.Text(), nullable=False),
    sa.Column('procedure_code', sa.Text(), nullable=False),
    sa.Column('procedure_name', sa.Text(), nullable=False),
    sa.Column('field', sa.Text(), nullable=False),
    sa.Column('online_level', sa.Text(), nullable=False),
    sa.Column('processing_days', sa.Integer(), nullable=False),
    sa.Column('cutoff_time', sa.Text(), nullable=False),
    sa.Column('fee_vnd', sa.BigInteger(), nullable=False),
    sa.Column('applicant', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('applicant_name', sa.Text(), nullable=False),
    sa.Column('form', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('attachments', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('result_delivery', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('recipient', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counted_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by', sa.Text(), nullable=True),
    sa.Column('rule_set', sa.Text(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('priority_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('original_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline_version', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('resume_status', sa.Text(), nullable=True),
    sa.Column('supplement_rounds', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('assignee_id', sa.UUID(), nullable=True),
    sa.Column('assignee_name', sa.Text(), nullable=True),
    sa.Column('result_summary', sa.Text(), nullable=True),
    sa.Column('result_file', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('judgement', sa.Text(), nullable=True),
    sa.Column('sequence', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('code', name=op.f('uq_cases_code'))
    )
    op.create_index('ix_cases_agency_priority', 'cases', ['agency_code', 'priority_at', 'code'], unique=False)
    op.create_index('ix_cases_applicant_trgm', 'cases', [sa.literal_column('lower(applicant_name) gin_trgm_ops')], unique=False, postgresql_using='gin')
    op.create_index('ix_cases_assignee', 'cases', ['assignee_id', 'priority_at', 'code'], unique=False)
    op.create_index('ix_cases_procedure', 'cases', ['agency_code', 'procedure_code', 'priority_at', 'code'], unique=False)
    op.create_index('ix_cases_worklist', 'cases', ['agency_code', 'status', 'priority_at', 'code'], unique=False)
    op.create_table('officers',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('username', sa.Text(), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('agency_code', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('receiver', 'processor', 'approver', 'admin')", name=op.f('ck_officers_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officers')),
    sa.UniqueConstraint('username', name=op.f('uq_officers_username'))
    )
    op.create_index('ix_officers_agency_role', 'officers', ['agency_code', 'role'], unique=False)
    op.create_table('procedures',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('field', sa.Text(), nullable=False),
    sa.Column('online_level', sa.Text(), nullable=False),
    sa.Column('processing_days', sa.Integer(), nullable=False),
    sa.Column('cutoff_time', sa.Text(), nullable=False),
    sa.Column('fee_vnd', sa.BigInteger(), nullable=False),
    sa.Column('documents', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_procedures'))
    )
    op.create_table('history',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_kind', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Text(), nullable=True),
    sa.Column('actor_name', sa.Text(), nullable=True),
    sa.Column('actor_role', sa.Text(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('from_status', sa.Text(), nullable=True),
    sa.Column('to_status', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_history_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history'))
    )
    op.create_index('ix_history_case', 'history', ['case_id', 'id'], unique=False)
    op.create_table('pauses',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('round', sa.SmallInteger(), nullable=False),
    sa.Column('items', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('supplement_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clock_was_running', sa.Boolean(), nullable=False),
    sa.Column('paused_seconds', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_pauses_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', 'round', name=op.f('pk_pauses'))
    )
    op.create_table('timers',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('deadline_version', sa.Integer(), nullable=False),
    sa.Column('fire_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('due_soon', 'overdue')", name=op.f('ck_timers_kind')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_timers_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', 'kind', 'deadline_version', name=op.f('pk_timers'))
    )
    op.create_index('ix_timers_pending', 'timers', ['fire_at'], unique=False, postgresql_where=sa.text('fired_at IS NULL'))
    # The audit trail cannot be edited, whatever the code above it does.
    for statement in APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER history_append_only ON history")
    op.execute("DROP FUNCTION history_is_append_only()")
    op.drop_index('ix_timers_pending', table_name='timers', postgresql_where=sa.text('fired_at IS NULL'))
    op.drop_table('timers')
    op.drop_table('pauses')
    op.drop_index('ix_history_case', table_name='history')
    op.drop_table('history')
    op.drop_table('procedures')
    op.drop_index('ix_officers_agency_role', table_name='officers')
    op.drop_table('officers')
    op.drop_index('ix_cases_worklist', table_name='cases')
    op.drop_index('ix_cases_procedure', table_name='cases')
    op.drop_index('ix_cases_assignee', table_name='cases')
    op.drop_index('ix_cases_applicant_trgm', table_name='cases', postgresql_using='gin')
    op.drop_index('ix_cases_agency_priority', table_name='cases')
    op.drop_table('cases')
    op.drop_table('calendar_years')
    op.drop_table('agencies')
