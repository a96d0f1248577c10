"""contact_metrics: the current record of each contact, per-day counts by every dimension of
the figures in docs/metrics.md, and the digital-channel sets in use.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
DIMENSIONS = ("unit_id", "service_area", "channel", "contact_mode_code", "age_band", "municipality")


def upgrade() -> None:
    op.create_table(
        "contact_records",
        sa.Column("contact_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("time", _TS, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *(sa.Column(d, sa.Text, nullable=False) for d in DIMENSIONS),
        sa.Column("professional_group", sa.Text, nullable=False),
    )
    op.create_table(
        "contact_daily",
        sa.Column("day", sa.Date, nullable=False),
        *(sa.Column(d, sa.Text, nullable=False) for d in DIMENSIONS),
        sa.Column("contacts", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("day", *DIMENSIONS, name="pk_contact_daily"),
    )
    op.create_table(
        "contact_digital_channel_sets",
        sa.Column("channels", sa.Text, primary_key=True),  # sorted, comma-separated
        sa.Column("first_used_at", _TS, nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", _TS, nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    for table in ("contact_digital_channel_sets", "contact_daily", "contact_records"):
        op.drop_table(table)
