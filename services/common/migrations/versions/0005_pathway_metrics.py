"""pathway_metrics: events per enrolment, the derived enrolments, per-day figures.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
ATTRIBUTES = ("pathway_id", "kind", "platform", "service_area", "unit_id", "start_mode")
MEASURES = ("starts", "completions", "discontinued", "tasks_completed", "thumbs_up", "thumbs_down")


def upgrade() -> None:
    op.create_table(
        "pathway_events",
        sa.Column("enrolment_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("time", _TS, nullable=False),
        *(sa.Column(a, sa.Text) for a in ATTRIBUTES),
        sa.Column("authenticated", sa.Boolean),
        sa.Column("task", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("thumb", sa.Text),
        sa.PrimaryKeyConstraint("enrolment_id", "event_id", name="pk_pathway_events"),
    )
    op.create_table(
        "pathway_enrolments",
        sa.Column("enrolment_id", sa.Text, primary_key=True),
        sa.Column("partition", sa.Integer, nullable=False),
        *(sa.Column(a, sa.Text, nullable=False) for a in ATTRIBUTES),
        sa.Column("started_at", _TS),
        sa.Column("started_day", sa.Date),
        sa.Column("ended_at", _TS),
        sa.Column("ended_day", sa.Date),
        sa.Column("end_kind", sa.Text),  # completed | discontinued
        sa.Column("tasks_completed", sa.Integer, nullable=False),
        sa.Column("thumbs_up", sa.Integer, nullable=False),
        sa.Column("thumbs_down", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_pathway_enrolments_started", "pathway_enrolments", ["pathway_id", "started_day"]
    )
    op.create_index(
        "ix_pathway_enrolments_active",
        "pathway_enrolments",
        ["partition"],
        postgresql_where=sa.text("started_at IS NOT NULL AND ended_at IS NULL"),
    )
    op.create_table(
        "pathway_daily",
        sa.Column("day", sa.Date, nullable=False),
        *(sa.Column(a, sa.Text, nullable=False) for a in ATTRIBUTES),
        *(sa.Column(m, sa.BigInteger, nullable=False, server_default="0") for m in MEASURES),
        sa.PrimaryKeyConstraint("day", *ATTRIBUTES, name="pk_pathway_daily"),
    )


def downgrade() -> None:
    for table in ("pathway_daily", "pathway_enrolments", "pathway_events"):
        op.drop_table(table)
